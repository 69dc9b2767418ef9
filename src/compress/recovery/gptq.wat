;; GPTQ kernels (WebAssembly with 128-bit SIMD), two float64 lanes at a time.
;; Source of src/compress/recovery/gptq-wasm.ts (`npm run build:wasm` assembles it with wabt; a
;; unit test checks that the committed bytes are this file's).
;;
;; One kernel serves the three dense parts of GPTQ (gptq-simd.ts drives it a block of rows at a
;; time, so the rows stay in cache while the shared vector is read once for all of them):
;;   - the quadratic forms d H dᵀ of the output errors (y: the upper part of a row of H);
;;   - the Cholesky factor of H (y: a finished row of the factor);
;;   - the column sweep (y: a column of the factor of H, x: the rounding errors so far).
;;
;; dots: out[k] = Σ_{j < len} x[k][j] · y[j] for k < rows, in float64, with x[k] at x + k * stride.
;; Four rows share each load of y; each row sums the pairs of even and odd j in its two lanes
;; (lane 0 + lane 1), then adds the last product when len is odd.
;; Pointers and strides are in bytes.
(module
  (memory (export "memory") 1)

  (func (export "dots") (param $x i32) (param $rows i32) (param $stride i32) (param $y i32) (param $len i32)
    (param $out i32)
    (local $k i32) (local $j i32) (local $pairs i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $yv v128) (local $yt f64)
    ;; bytes covered by whole pairs
    (local.set $pairs (i32.shl (i32.and (local.get $len) (i32.const -2)) (i32.const 3)))
    (if (i32.and (local.get $len) (i32.const 1))
      (then (local.set $yt (f64.load (i32.add (local.get $y) (local.get $pairs))))))
    ;; four rows at a time
    (block $g4done
      (loop $g4
        (br_if $g4done (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $stride))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $stride)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $stride)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $stride)))
        (local.set $a0 (v128.const f64x2 0 0))
        (local.set $a1 (v128.const f64x2 0 0))
        (local.set $a2 (v128.const f64x2 0 0))
        (local.set $a3 (v128.const f64x2 0 0))
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jl
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $pairs)))
            (local.set $yv (v128.load (i32.add (local.get $y) (local.get $j))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (v128.load (i32.add (local.get $p0) (local.get $j))) (local.get $yv))))
            (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (v128.load (i32.add (local.get $p1) (local.get $j))) (local.get $yv))))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (v128.load (i32.add (local.get $p2) (local.get $j))) (local.get $yv))))
            (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (v128.load (i32.add (local.get $p3) (local.get $j))) (local.get $yv))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $jl)))
        (if (i32.and (local.get $len) (i32.const 1))
          (then
            (f64.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0)))
                (f64.mul (f64.load (i32.add (local.get $p0) (local.get $pairs))) (local.get $yt))))
            (f64.store offset=8 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64.add (f64x2.extract_lane 0 (local.get $a1)) (f64x2.extract_lane 1 (local.get $a1)))
                (f64.mul (f64.load (i32.add (local.get $p1) (local.get $pairs))) (local.get $yt))))
            (f64.store offset=16 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64.add (f64x2.extract_lane 0 (local.get $a2)) (f64x2.extract_lane 1 (local.get $a2)))
                (f64.mul (f64.load (i32.add (local.get $p2) (local.get $pairs))) (local.get $yt))))
            (f64.store offset=24 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64.add (f64x2.extract_lane 0 (local.get $a3)) (f64x2.extract_lane 1 (local.get $a3)))
                (f64.mul (f64.load (i32.add (local.get $p3) (local.get $pairs))) (local.get $yt)))))
          (else
            (f64.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
            (f64.store offset=8 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64x2.extract_lane 0 (local.get $a1)) (f64x2.extract_lane 1 (local.get $a1))))
            (f64.store offset=16 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64x2.extract_lane 0 (local.get $a2)) (f64x2.extract_lane 1 (local.get $a2))))
            (f64.store offset=24 (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64x2.extract_lane 0 (local.get $a3)) (f64x2.extract_lane 1 (local.get $a3))))))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $g4)))
    ;; the rows left, one at a time
    (block $g1done
      (loop $g1
        (br_if $g1done (i32.ge_u (local.get $k) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $stride))))
        (local.set $a0 (v128.const f64x2 0 0))
        (local.set $j (i32.const 0))
        (block $jdone1
          (loop $jl1
            (br_if $jdone1 (i32.ge_u (local.get $j) (local.get $pairs)))
            (local.set $a0 (f64x2.add (local.get $a0)
              (f64x2.mul (v128.load (i32.add (local.get $p0) (local.get $j))) (v128.load (i32.add (local.get $y) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $jl1)))
        (if (i32.and (local.get $len) (i32.const 1))
          (then
            (f64.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0)))
                (f64.mul (f64.load (i32.add (local.get $p0) (local.get $pairs))) (local.get $yt)))))
          (else
            (f64.store (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3)))
              (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $g1)))))
