;; GPTQ kernels (WebAssembly with 128-bit SIMD): `dots32x2` in float32 (four lanes) for GPTQ itself,
;; `dots` in float64 (two lanes) for the teacher's target (teacher.ts), which solves with H once per layer.
;; Source of src/compress/recovery/gptq-wasm.ts (`npm run build:wasm` assembles it with wabt; a
;; unit test checks that the committed bytes are this file's).
;;
;; The kernels serve the dense parts of GPTQ (gptq-simd.ts drives them a block of rows at a time, so
;; the rows stay in cache while each shared vector is read once for all of them):
;;   - the quadratic forms d H dᵀ of the output errors (y: the upper part of two rows of H);
;;   - the Cholesky factor of H (y: two finished rows of the factor);
;;   - the column sweep (y: two columns of the factor of H, x: the rounding errors so far);
;;   - the teacher's solves (float64 `dots`, one vector at a time).
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
        (br $g1))))

;; dots32x2: out[2k + u] = Σ_{j < len} x[k][j] · y_u[j] for k < rows and u = 0, 1, in float32, with
;; x[k] at x + k * stride, y₀ at y and y₁ at y + ystride (ystride 0: the same vector twice), out
;; float32. Four rows at a time: each load of a row of x serves both vectors and each load of a
;; vector four rows (eight sums of four lanes in flight). Each sum adds its lanes as (0 + 1) + (2 + 3),
;; then the products past the last whole vector of four, in order.
  (func (export "dots32x2") (param $x i32) (param $rows i32) (param $stride i32) (param $y i32) (param $ystride i32) (param $len i32)
    (param $out i32)
    (local $k i32) (local $j i32) (local $vec4 i32) (local $end i32) (local $y1p i32)
    (local $p0 i32) (local $p1 i32) (local $p2 i32) (local $p3 i32)
    (local $a00 v128) (local $a01 v128) (local $a10 v128) (local $a11 v128)
    (local $a20 v128) (local $a21 v128) (local $a30 v128) (local $a31 v128)
    (local $y0 v128) (local $y1 v128) (local $xv v128) (local $s f32) (local $s1 f32) (local $t i32) (local $xs f32) (local $o i32)
    (local.set $vec4 (i32.shl (i32.and (local.get $len) (i32.const -4)) (i32.const 2)))
    (local.set $end (i32.shl (local.get $len) (i32.const 2)))
    (local.set $y1p (i32.add (local.get $y) (local.get $ystride)))
    (block $g4done
      (loop $g4
        (br_if $g4done (i32.gt_u (i32.add (local.get $k) (i32.const 4)) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $stride))))
        (local.set $p1 (i32.add (local.get $p0) (local.get $stride)))
        (local.set $p2 (i32.add (local.get $p1) (local.get $stride)))
        (local.set $p3 (i32.add (local.get $p2) (local.get $stride)))
        (local.set $a00 (v128.const f32x4 0 0 0 0))
        (local.set $a01 (v128.const f32x4 0 0 0 0))
        (local.set $a10 (v128.const f32x4 0 0 0 0))
        (local.set $a11 (v128.const f32x4 0 0 0 0))
        (local.set $a20 (v128.const f32x4 0 0 0 0))
        (local.set $a21 (v128.const f32x4 0 0 0 0))
        (local.set $a30 (v128.const f32x4 0 0 0 0))
        (local.set $a31 (v128.const f32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jl
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $vec4)))
            (local.set $y0 (v128.load (i32.add (local.get $y) (local.get $j))))
            (local.set $y1 (v128.load (i32.add (local.get $y1p) (local.get $j))))
            (local.set $xv (v128.load (i32.add (local.get $p0) (local.get $j))))
            (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $xv) (local.get $y0))))
            (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $xv) (local.get $y1))))
            (local.set $xv (v128.load (i32.add (local.get $p1) (local.get $j))))
            (local.set $a10 (f32x4.add (local.get $a10) (f32x4.mul (local.get $xv) (local.get $y0))))
            (local.set $a11 (f32x4.add (local.get $a11) (f32x4.mul (local.get $xv) (local.get $y1))))
            (local.set $xv (v128.load (i32.add (local.get $p2) (local.get $j))))
            (local.set $a20 (f32x4.add (local.get $a20) (f32x4.mul (local.get $xv) (local.get $y0))))
            (local.set $a21 (f32x4.add (local.get $a21) (f32x4.mul (local.get $xv) (local.get $y1))))
            (local.set $xv (v128.load (i32.add (local.get $p3) (local.get $j))))
            (local.set $a30 (f32x4.add (local.get $a30) (f32x4.mul (local.get $xv) (local.get $y0))))
            (local.set $a31 (f32x4.add (local.get $a31) (f32x4.mul (local.get $xv) (local.get $y1))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $jl)))
        (local.set $s (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a00)) (f32x4.extract_lane 1 (local.get $a00)))
          (f32.add (f32x4.extract_lane 2 (local.get $a00)) (f32x4.extract_lane 3 (local.get $a00)))))
        (local.set $s1 (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a01)) (f32x4.extract_lane 1 (local.get $a01)))
          (f32.add (f32x4.extract_lane 2 (local.get $a01)) (f32x4.extract_lane 3 (local.get $a01)))))
        (local.set $t (local.get $vec4))
        (block $td0
          (loop $tl0
            (br_if $td0 (i32.ge_u (local.get $t) (local.get $end)))
            (local.set $xs (f32.load (i32.add (local.get $p0) (local.get $t))))
            (local.set $s (f32.add (local.get $s) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y) (local.get $t))))))
            (local.set $s1 (f32.add (local.get $s1) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y1p) (local.get $t))))))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $tl0)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))))
        (f32.store offset=0 (local.get $o) (local.get $s))
        (f32.store offset=4 (local.get $o) (local.get $s1))
        (local.set $s (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a10)) (f32x4.extract_lane 1 (local.get $a10)))
          (f32.add (f32x4.extract_lane 2 (local.get $a10)) (f32x4.extract_lane 3 (local.get $a10)))))
        (local.set $s1 (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a11)) (f32x4.extract_lane 1 (local.get $a11)))
          (f32.add (f32x4.extract_lane 2 (local.get $a11)) (f32x4.extract_lane 3 (local.get $a11)))))
        (local.set $t (local.get $vec4))
        (block $td1
          (loop $tl1
            (br_if $td1 (i32.ge_u (local.get $t) (local.get $end)))
            (local.set $xs (f32.load (i32.add (local.get $p1) (local.get $t))))
            (local.set $s (f32.add (local.get $s) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y) (local.get $t))))))
            (local.set $s1 (f32.add (local.get $s1) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y1p) (local.get $t))))))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $tl1)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))))
        (f32.store offset=8 (local.get $o) (local.get $s))
        (f32.store offset=12 (local.get $o) (local.get $s1))
        (local.set $s (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a20)) (f32x4.extract_lane 1 (local.get $a20)))
          (f32.add (f32x4.extract_lane 2 (local.get $a20)) (f32x4.extract_lane 3 (local.get $a20)))))
        (local.set $s1 (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a21)) (f32x4.extract_lane 1 (local.get $a21)))
          (f32.add (f32x4.extract_lane 2 (local.get $a21)) (f32x4.extract_lane 3 (local.get $a21)))))
        (local.set $t (local.get $vec4))
        (block $td2
          (loop $tl2
            (br_if $td2 (i32.ge_u (local.get $t) (local.get $end)))
            (local.set $xs (f32.load (i32.add (local.get $p2) (local.get $t))))
            (local.set $s (f32.add (local.get $s) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y) (local.get $t))))))
            (local.set $s1 (f32.add (local.get $s1) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y1p) (local.get $t))))))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $tl2)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))))
        (f32.store offset=16 (local.get $o) (local.get $s))
        (f32.store offset=20 (local.get $o) (local.get $s1))
        (local.set $s (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a30)) (f32x4.extract_lane 1 (local.get $a30)))
          (f32.add (f32x4.extract_lane 2 (local.get $a30)) (f32x4.extract_lane 3 (local.get $a30)))))
        (local.set $s1 (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a31)) (f32x4.extract_lane 1 (local.get $a31)))
          (f32.add (f32x4.extract_lane 2 (local.get $a31)) (f32x4.extract_lane 3 (local.get $a31)))))
        (local.set $t (local.get $vec4))
        (block $td3
          (loop $tl3
            (br_if $td3 (i32.ge_u (local.get $t) (local.get $end)))
            (local.set $xs (f32.load (i32.add (local.get $p3) (local.get $t))))
            (local.set $s (f32.add (local.get $s) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y) (local.get $t))))))
            (local.set $s1 (f32.add (local.get $s1) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y1p) (local.get $t))))))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $tl3)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))))
        (f32.store offset=24 (local.get $o) (local.get $s))
        (f32.store offset=28 (local.get $o) (local.get $s1))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $g4)))
    ;; the rows left, one at a time
    (block $g1done
      (loop $g1
        (br_if $g1done (i32.ge_u (local.get $k) (local.get $rows)))
        (local.set $p0 (i32.add (local.get $x) (i32.mul (local.get $k) (local.get $stride))))
        (local.set $a00 (v128.const f32x4 0 0 0 0))
        (local.set $a01 (v128.const f32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $jdone1
          (loop $jl1
            (br_if $jdone1 (i32.ge_u (local.get $j) (local.get $vec4)))
            (local.set $xv (v128.load (i32.add (local.get $p0) (local.get $j))))
            (local.set $a00 (f32x4.add (local.get $a00) (f32x4.mul (local.get $xv) (v128.load (i32.add (local.get $y) (local.get $j))))))
            (local.set $a01 (f32x4.add (local.get $a01) (f32x4.mul (local.get $xv) (v128.load (i32.add (local.get $y1p) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $jl1)))
        (local.set $s (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a00)) (f32x4.extract_lane 1 (local.get $a00)))
          (f32.add (f32x4.extract_lane 2 (local.get $a00)) (f32x4.extract_lane 3 (local.get $a00)))))
        (local.set $s1 (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a01)) (f32x4.extract_lane 1 (local.get $a01)))
          (f32.add (f32x4.extract_lane 2 (local.get $a01)) (f32x4.extract_lane 3 (local.get $a01)))))
        (local.set $t (local.get $vec4))
        (block $td9
          (loop $tl9
            (br_if $td9 (i32.ge_u (local.get $t) (local.get $end)))
            (local.set $xs (f32.load (i32.add (local.get $p0) (local.get $t))))
            (local.set $s (f32.add (local.get $s) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y) (local.get $t))))))
            (local.set $s1 (f32.add (local.get $s1) (f32.mul (local.get $xs) (f32.load (i32.add (local.get $y1p) (local.get $t))))))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $tl9)))
        (local.set $o (i32.add (local.get $out) (i32.shl (local.get $k) (i32.const 3))))
        (f32.store (local.get $o) (local.get $s))
        (f32.store offset=4 (local.get $o) (local.get $s1))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $g1))))

;; column: the sweep's step for column j of every row of a block (after dots32x2 gave the sums).
;; For row b (i = b·n + j): s = S[2b + u] (0 when `sums` is 0) + D[i − 1] · c (u = 1: the column
;; before, projected just now); w = W[i]; v = w + s / tjj; the projection p of v:
;;   mode 0 (a grid): q = zero[i], or where keep[i] and scale[i] ≠ 0, floor(v / scale[i] + 1/2) + zero[i]
;;     clamped to [qmin, qmax]; codes[i] = q (i32); p = (q − zero[i]) · scale[i];
;;   mode 1 (free values): p = v as float32 where keep[i], else 0; codes[i] = p (f32);
;; d = w − p; D[i] = d (float32); e = s + tjj · d; loss[b] += e² (float64).
;; W, D, S, scale, zero: float32; keep: bytes; codes: 4 bytes; loss: float64. Pointers in bytes.
  (func (export "column") (param $mode i32) (param $rows i32) (param $n i32) (param $j i32) (param $u i32) (param $sums i32)
    (param $c f64) (param $tjj f64) (param $W i32) (param $D i32) (param $S i32) (param $scale i32) (param $zero i32)
    (param $keep i32) (param $codes i32) (param $loss i32) (param $qmin f64) (param $qmax f64)
    (local $b i32) (local $i i32) (local $o i32) (local $s f64) (local $w f64) (local $v f64) (local $p f64)
    (local $q f64) (local $sc f64) (local $z f64) (local $d f64) (local $e f64) (local $l i32)
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $b) (local.get $rows)))
        (local.set $i (i32.add (i32.mul (local.get $b) (local.get $n)) (local.get $j)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $s (f64.const 0))
        (if (local.get $sums)
          (then (local.set $s (f64.promote_f32 (f32.load (i32.add (local.get $S)
            (i32.shl (i32.add (i32.shl (local.get $b) (i32.const 1)) (local.get $u)) (i32.const 2))))))))
        (if (local.get $u)
          (then (local.set $s (f64.add (local.get $s)
            (f64.mul (f64.promote_f32 (f32.load offset=0 (i32.sub (i32.add (local.get $D) (local.get $o)) (i32.const 4)))) (local.get $c))))))
        (local.set $w (f64.promote_f32 (f32.load (i32.add (local.get $W) (local.get $o)))))
        (local.set $v (f64.add (local.get $w) (f64.div (local.get $s) (local.get $tjj))))
        (if (i32.eqz (local.get $mode))
          (then
            (local.set $sc (f64.promote_f32 (f32.load (i32.add (local.get $scale) (local.get $o)))))
            (local.set $z (f64.promote_f32 (f32.load (i32.add (local.get $zero) (local.get $o)))))
            (local.set $q (local.get $z))
            (if (i32.and (i32.load8_u (i32.add (local.get $keep) (local.get $i))) (f64.ne (local.get $sc) (f64.const 0)))
              (then
                (local.set $q (f64.add (f64.floor (f64.add (f64.div (local.get $v) (local.get $sc)) (f64.const 0.5))) (local.get $z)))
                (local.set $q (f64.max (local.get $qmin) (f64.min (local.get $qmax) (local.get $q))))))
            (i32.store (i32.add (local.get $codes) (local.get $o)) (i32.trunc_f64_s (local.get $q)))
            (local.set $p (f64.mul (f64.sub (local.get $q) (local.get $z)) (local.get $sc))))
          (else
            (local.set $p (f64.const 0))
            (if (i32.load8_u (i32.add (local.get $keep) (local.get $i)))
              (then (local.set $p (f64.promote_f32 (f32.demote_f64 (local.get $v))))))
            (f32.store (i32.add (local.get $codes) (local.get $o)) (f32.demote_f64 (local.get $p)))))
        (local.set $d (f64.sub (local.get $w) (local.get $p)))
        (f32.store (i32.add (local.get $D) (local.get $o)) (f32.demote_f64 (local.get $d)))
        (local.set $e (f64.add (local.get $s) (f64.mul (local.get $tjj) (local.get $d))))
        (local.set $l (i32.add (local.get $loss) (i32.shl (local.get $b) (i32.const 3))))
        (f64.store (local.get $l) (f64.add (f64.load (local.get $l)) (f64.mul (local.get $e) (local.get $e))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $rows)))))
