;; Blockwise quantization kernels (WebAssembly with 128-bit SIMD), four float32 lanes at a time.
;; Source of src/compress/quantize/blockwise-wasm.ts (`npm run build:wasm` assembles it with wabt;
;; a unit test checks that the committed bytes are this file's).
;;
;; Same formulas as the scalar code in quantize.ts (MLAS BlockwiseQDQQuantizer), bit for bit:
;;   - ranges: lo = (v < lo) ? v : lo and hi = (hi < v) ? v : hi in element order: f32x4.pmin and
;;     f32x4.pmax are exactly these selects (NaN values are skipped, as in the scalar loop);
;;   - symmetric: scale = float32(-m / half) with m the block's value of largest magnitude (a
;;     multiply by -1 / half, exact for a power of two), asymmetric: scale = float32(float32(hi' -
;;     lo') / kmax) and zp = round_half_away(clamp(-float32(lo' / scale), 0, kmax)) - half over the
;;     range widened to include 0 (float32 arithmetic: the scalar code's float64 then float32 gives
;;     the same result for one +, -, * or /, since 53 >= 2 * 24 + 2);
;;   - recip = float32(1 / scale), 0 for a zero scale; a zero scale is stored as +0;
;;   - codes: x = float32(v * recip) (exact as a float32 product), round half away from zero
;;     (nearest-even, then x + copysign(0.5, x) where |x - nearest(x)| is exactly 0.5), + zp,
;;     clamped to [tmin, tmax]; a NaN product (0 times an infinite multiplier) gives code 0.
;; Every function returns a flag: 1 when it met a NaN value or an infinite range.
;;
;; Pointers and strides are in bytes; column counts are multiples of 4.
(module
  (memory (export "memory") 1)

  ;; lo / hi of `cols` columns over `rows` rows of a tile (row r at src + r * stride)
  (func (export "rangeCols") (param $src i32) (param $rows i32) (param $stride i32) (param $cols i32)
    (param $lo i32) (param $hi i32)
    (local $c i32) (local $p i32) (local $r i32) (local $v v128) (local $vlo v128) (local $vhi v128)
    (block $done
      (loop $col
        (br_if $done (i32.ge_u (local.get $c) (local.get $cols)))
        (local.set $vlo (v128.const f32x4 inf inf inf inf))
        (local.set $vhi (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $r (local.get $rows))
        (loop $row
          (local.set $v (v128.load (local.get $p)))
          (local.set $vlo (f32x4.pmin (local.get $vlo) (local.get $v)))
          (local.set $vhi (f32x4.pmax (local.get $vhi) (local.get $v)))
          (local.set $p (i32.add (local.get $p) (local.get $stride)))
          (br_if $row (local.tee $r (i32.sub (local.get $r) (i32.const 1)))))
        (v128.store (i32.add (local.get $lo) (i32.shl (local.get $c) (i32.const 2))) (local.get $vlo))
        (v128.store (i32.add (local.get $hi) (i32.shl (local.get $c) (i32.const 2))) (local.get $vhi))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $col))))

  ;; lo / hi of `runs` consecutive runs of `len` values (a multiple of 4) from src, in element order
  (func (export "rangeRuns") (param $src i32) (param $runs i32) (param $len i32) (param $lo i32) (param $hi i32)
    (local $g i32) (local $p i32) (local $end i32) (local $v v128) (local $vlo v128) (local $vhi v128)
    (local $a f32) (local $b f32) (local $x f32)
    (local.set $p (local.get $src))
    (block $done
      (loop $run
        (br_if $done (i32.ge_u (local.get $g) (local.get $runs)))
        (local.set $vlo (v128.const f32x4 inf inf inf inf))
        (local.set $vhi (v128.const f32x4 -inf -inf -inf -inf))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $len) (i32.const 2))))
        (loop $vec
          (local.set $v (v128.load (local.get $p)))
          (local.set $vlo (f32x4.pmin (local.get $vlo) (local.get $v)))
          (local.set $vhi (f32x4.pmax (local.get $vhi) (local.get $v)))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $vec (i32.lt_u (local.get $p) (local.get $end))))
        ;; lanes in order (a zero's sign may differ from a scan in element order; scales of +-0
        ;; are stored as +0, so it never shows)
        (local.set $a (f32x4.extract_lane 0 (local.get $vlo)))
        (local.set $x (f32x4.extract_lane 1 (local.get $vlo)))
        (local.set $a (select (local.get $x) (local.get $a) (f32.lt (local.get $x) (local.get $a))))
        (local.set $x (f32x4.extract_lane 2 (local.get $vlo)))
        (local.set $a (select (local.get $x) (local.get $a) (f32.lt (local.get $x) (local.get $a))))
        (local.set $x (f32x4.extract_lane 3 (local.get $vlo)))
        (local.set $a (select (local.get $x) (local.get $a) (f32.lt (local.get $x) (local.get $a))))
        (local.set $b (f32x4.extract_lane 0 (local.get $vhi)))
        (local.set $x (f32x4.extract_lane 1 (local.get $vhi)))
        (local.set $b (select (local.get $x) (local.get $b) (f32.gt (local.get $x) (local.get $b))))
        (local.set $x (f32x4.extract_lane 2 (local.get $vhi)))
        (local.set $b (select (local.get $x) (local.get $b) (f32.gt (local.get $x) (local.get $b))))
        (local.set $x (f32x4.extract_lane 3 (local.get $vhi)))
        (local.set $b (select (local.get $x) (local.get $b) (f32.gt (local.get $x) (local.get $b))))
        (f32.store (i32.add (local.get $lo) (i32.shl (local.get $g) (i32.const 2))) (local.get $a))
        (f32.store (i32.add (local.get $hi) (i32.shl (local.get $g) (i32.const 2))) (local.get $b))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $run))))

  ;; scale, multiplier and signed zero point (as float) of `n` groups (a multiple of 4) from their
  ;; ranges; half = 2^(bits - 1). Returns 1 when a range is infinite.
  (func (export "params") (param $lo i32) (param $hi i32) (param $n i32) (param $symmetric i32) (param $half f32)
    (param $scale i32) (param $recip i32) (param $zp i32) (result i32)
    (local $off i32) (local $l v128) (local $h v128) (local $s v128) (local $z v128) (local $t v128)
    (local $kmax v128) (local $hv v128) (local $bad v128)
    (local.set $hv (f32x4.splat (local.get $half)))
    (local.set $kmax (f32x4.sub (f32x4.add (local.get $hv) (local.get $hv)) (v128.const f32x4 1 1 1 1)))
    (block $done
      (loop $grp
        (br_if $done (i32.ge_u (local.get $off) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $l (v128.load (i32.add (local.get $lo) (local.get $off))))
        (local.set $h (v128.load (i32.add (local.get $hi) (local.get $off))))
        (local.set $bad (v128.or (local.get $bad)
          (v128.or (f32x4.eq (local.get $l) (v128.const f32x4 -inf -inf -inf -inf))
                   (f32x4.eq (local.get $h) (v128.const f32x4 inf inf inf inf)))))
        (if (local.get $symmetric)
          (then
            ;; m = |hi| > |lo| ? hi : lo; scale = -m / half (+0 for a zero)
            (local.set $s (v128.bitselect (local.get $h) (local.get $l)
              (f32x4.gt (f32x4.abs (local.get $h)) (f32x4.abs (local.get $l)))))
            (local.set $s (f32x4.add
              (f32x4.div (f32x4.neg (local.get $s)) (local.get $hv))
              (v128.const f32x4 0 0 0 0)))
            (local.set $z (f32x4.splat (f32.const 0))))
          (else
            (local.set $l (f32x4.min (local.get $l) (v128.const f32x4 0 0 0 0)))
            (local.set $h (f32x4.max (local.get $h) (v128.const f32x4 0 0 0 0)))
            (local.set $s (f32x4.div (f32x4.sub (local.get $h) (local.get $l)) (local.get $kmax)))
            ;; zpf = scale != 0 ? 0 - lo' / scale : lo'
            (local.set $z (v128.bitselect
              (local.get $l)
              (f32x4.sub (v128.const f32x4 0 0 0 0) (f32x4.div (local.get $l) (local.get $s)))
              (f32x4.eq (local.get $s) (v128.const f32x4 0 0 0 0))))
            ;; clamp to [0, kmax], round half away (non-negative here), shift by half
            (local.set $z (f32x4.min (f32x4.max (local.get $z) (v128.const f32x4 0 0 0 0)) (local.get $kmax)))
            (local.set $t (f32x4.nearest (local.get $z)))
            (local.set $z (v128.bitselect
              (f32x4.add (local.get $z) (v128.const f32x4 0.5 0.5 0.5 0.5))
              (local.get $t)
              (f32x4.eq (f32x4.sub (local.get $z) (local.get $t)) (v128.const f32x4 0.5 0.5 0.5 0.5))))
            (local.set $z (f32x4.sub (local.get $z) (local.get $hv)))
            (local.set $s (f32x4.add (local.get $s) (v128.const f32x4 0 0 0 0)))))
        (v128.store (i32.add (local.get $scale) (local.get $off)) (local.get $s))
        (v128.store (i32.add (local.get $zp) (local.get $off)) (local.get $z))
        (v128.store (i32.add (local.get $recip) (local.get $off))
          (v128.andnot
            (f32x4.div (v128.const f32x4 1 1 1 1) (local.get $s))
            (f32x4.eq (local.get $s) (v128.const f32x4 0 0 0 0))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $grp)))
    (v128.any_true (local.get $bad)))

  ;; codes of four values: round_half_away(v * m) + z clamped to [lo, hi], as int32 lanes
  (func $codes (param $v v128) (param $m v128) (param $z v128) (param $lo v128) (param $hi v128) (result v128)
    (local $x v128) (local $r v128)
    (local.set $x (f32x4.mul (local.get $v) (local.get $m)))
    (local.set $r (f32x4.nearest (local.get $x)))
    (local.set $r (v128.bitselect
      (f32x4.add (local.get $x)
        (v128.or (v128.and (local.get $x) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000))
                 (v128.const f32x4 0.5 0.5 0.5 0.5)))
      (local.get $r)
      (f32x4.eq (f32x4.abs (f32x4.sub (local.get $x) (local.get $r))) (v128.const f32x4 0.5 0.5 0.5 0.5))))
    (i32x4.trunc_sat_f32x4_s
      (f32x4.min (f32x4.max (f32x4.add (local.get $r) (local.get $z)) (local.get $lo)) (local.get $hi))))

  ;; int8 codes of a tile (as rangeCols) into dst (row r at dst + r * dstStride), with each
  ;; column's multiplier and zero point. Returns 1 when a value is NaN.
  (func (export "codesCols") (param $src i32) (param $rows i32) (param $stride i32) (param $cols i32)
    (param $recip i32) (param $zp i32) (param $tmin f32) (param $tmax f32) (param $dst i32) (param $dstStride i32)
    (result i32)
    (local $c i32) (local $p i32) (local $d i32) (local $r i32) (local $v v128) (local $m v128) (local $z v128)
    (local $lo v128) (local $hi v128) (local $k v128) (local $bad v128)
    (local.set $lo (f32x4.splat (local.get $tmin)))
    (local.set $hi (f32x4.splat (local.get $tmax)))
    (block $done
      (loop $col
        (br_if $done (i32.ge_u (local.get $c) (local.get $cols)))
        (local.set $m (v128.load (i32.add (local.get $recip) (i32.shl (local.get $c) (i32.const 2)))))
        (local.set $z (v128.load (i32.add (local.get $zp) (i32.shl (local.get $c) (i32.const 2)))))
        (local.set $p (i32.add (local.get $src) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $d (i32.add (local.get $dst) (local.get $c)))
        (local.set $r (local.get $rows))
        (loop $row
          (local.set $v (v128.load (local.get $p)))
          (local.set $bad (v128.or (local.get $bad) (f32x4.ne (local.get $v) (local.get $v))))
          (local.set $k (call $codes (local.get $v) (local.get $m) (local.get $z) (local.get $lo) (local.get $hi)))
          (local.set $k (i16x8.narrow_i32x4_s (local.get $k) (local.get $k)))
          (v128.store32_lane 0 (local.get $d) (i8x16.narrow_i16x8_s (local.get $k) (local.get $k)))
          (local.set $p (i32.add (local.get $p) (local.get $stride)))
          (local.set $d (i32.add (local.get $d) (local.get $dstStride)))
          (br_if $row (local.tee $r (i32.sub (local.get $r) (i32.const 1)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $col)))
    (v128.any_true (local.get $bad)))

  ;; int8 codes of `runs` consecutive runs of `len` values (a multiple of 4) into dst, one
  ;; multiplier and zero point per run. Returns 1 when a value is NaN.
  (func (export "codesRuns") (param $src i32) (param $runs i32) (param $len i32) (param $recip i32) (param $zp i32)
    (param $tmin f32) (param $tmax f32) (param $dst i32) (result i32)
    (local $g i32) (local $p i32) (local $d i32) (local $end i32) (local $v v128) (local $m v128) (local $z v128)
    (local $lo v128) (local $hi v128) (local $k v128) (local $bad v128)
    (local.set $lo (f32x4.splat (local.get $tmin)))
    (local.set $hi (f32x4.splat (local.get $tmax)))
    (local.set $p (local.get $src))
    (local.set $d (local.get $dst))
    (block $done
      (loop $run
        (br_if $done (i32.ge_u (local.get $g) (local.get $runs)))
        (local.set $m (v128.load32_splat (i32.add (local.get $recip) (i32.shl (local.get $g) (i32.const 2)))))
        (local.set $z (v128.load32_splat (i32.add (local.get $zp) (i32.shl (local.get $g) (i32.const 2)))))
        (local.set $end (i32.add (local.get $p) (i32.shl (local.get $len) (i32.const 2))))
        (loop $vec
          (local.set $v (v128.load (local.get $p)))
          (local.set $bad (v128.or (local.get $bad) (f32x4.ne (local.get $v) (local.get $v))))
          (local.set $k (call $codes (local.get $v) (local.get $m) (local.get $z) (local.get $lo) (local.get $hi)))
          (local.set $k (i16x8.narrow_i32x4_s (local.get $k) (local.get $k)))
          (v128.store32_lane 0 (local.get $d) (i8x16.narrow_i16x8_s (local.get $k) (local.get $k)))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $d (i32.add (local.get $d) (i32.const 4)))
          (br_if $vec (i32.lt_u (local.get $p) (local.get $end))))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $run)))
    (v128.any_true (local.get $bad)))
)
