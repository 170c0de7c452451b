;; edgetune int8 kernels: functions spliced into kernels.wat's module by engine/build.ts.
;;
;; Scheme (what training/quantize writes as QDQ): weights int8 symmetric per output channel
;; (zero point 0, codes -127..127); activations per tensor uint8 codes with a zero point, at most
;; 0..127 on the int8 paths. Activation codes are NHWC rows of `cs` bytes (the fp32 tensor's
;; padded channel stride, so a multiple of 8). Accumulation is exact int32.
;;
;; (DOT w x acc) = acc + per i32 lane i the sum over j < 4 of w[4i+j] (i8) * x[4i+j] (0..127).
;; engine/build.ts expands it to the relaxed int8 dot product for the relaxed variant; its second
;; operand is the "i7" one, exact on every lowering only for 0..127, which is why the activations
;; are 7-bit. The SIMD128 variant widens both halves to i16, takes two
;; i32x4.dot_i16x8_s and sums adjacent lanes: integer sums are exact, so both variants give the
;; same int32 for every input.
;;
;; Epilogues convert once to f32: y = float(acc + zc) * scale + bias, clamp, HardSwish. They use
;; a separate multiply and add (never the FMA macro) so both variants produce the same bits.
;; An epilogue may also requantize y for the next int8 op (the same codes as the quantize pass,
;; so fusing it changes no code), writing fp32, codes or both: an address of -1 means that output
;; is not written.
;;
;; qgemm's 4-row tiles and qdw3x3 round the clamped quotient v (within [-zp, qmax - zp], so |v| <=
;; 255) half to even by adding 1.5 · 2^23: v + 1.5 · 2^23 lies in [2^23, 2^24), where the floats are
;; the integers, so the add rounds v half to even (the sum is even exactly when the integer is),
;; and the sum's bits are 0x4b400000 plus that integer; one i32 subtraction of 0x4b400000 - zp then
;; leaves the code. It gives quantize's nearest + trunc_sat + add codes for every v (for
;; |v| < 1/2 both give zp; tests/node/engine/requant-round.test.ts compares every float with
;; 1/4 <= |v| <= 255) in two cheap ops, where trunc_sat costs V8 a sequence of about seven
;; instructions.

  ;; HardSwish after the clamp: y * clamp(y/6 + 1/2, 0, 1), multiply then add (no FMA).
  (func $qhswish (param $v v128) (result v128)
    (f32x4.mul (local.get $v)
      (f32x4.pmin
        (f32x4.pmax
          (f32x4.add
            (f32x4.mul (local.get $v) (v128.const f32x4 0.16666667 0.16666667 0.16666667 0.16666667))
            (v128.const f32x4 0.5 0.5 0.5 0.5))
          (v128.const f32x4 0 0 0 0))
        (v128.const f32x4 1 1 1 1))))

  ;; QuantizeLinear (with an optional Clip before it): rows of cs floats ($ss bytes apart) become
  ;; rows of cs codes ($ds bytes apart), clamped to 0..$qmax.
  (func (export "quantize") (param $src i32) (param $rows i32) (param $cs i32) (param $ss i32)
    (param $dst i32) (param $ds i32) (param $scale f32) (param $zp i32) (param $lo f32) (param $hi f32)
    (param $qmax i32)
    (local $r i32) (local $c i32) (local $s i32) (local $d i32)
    (local $vlo v128) (local $vhi v128) (local $vs v128) (local $vz v128) (local $vq v128) (local $h v128)
    (local $a v128) (local $b v128)
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $vs (f32x4.splat (local.get $scale)))
    (local.set $vz (i32x4.splat (local.get $zp)))
    (local.set $vq (i16x8.splat (local.get $qmax)))
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $s (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $ss))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $ds))))
      (local.set $c (i32.const 0))
      (block $cdone (loop $ch
        (br_if $cdone (i32.ge_s (local.get $c) (local.get $cs)))
        ;; clamp to [lo, hi] (the fused Clip), divide by the scale (as onnxruntime's QuantizeLinear
        ;; does), keep within ±512 so the narrowing cannot wrap, round half to even. Written out
        ;; rather than called: Node 20's V8 does not inline wasm calls.
        (local.set $a (f32x4.div (f32x4.pmin (f32x4.pmax (v128.load (local.get $s)) (local.get $vlo)) (local.get $vhi))
          (local.get $vs)))
        (local.set $b (f32x4.div (f32x4.pmin (f32x4.pmax (v128.load offset=16 (local.get $s)) (local.get $vlo)) (local.get $vhi))
          (local.get $vs)))
        (local.set $a (f32x4.nearest (f32x4.pmin (f32x4.pmax (local.get $a) (v128.const f32x4 -512 -512 -512 -512))
          (v128.const f32x4 512 512 512 512))))
        (local.set $b (f32x4.nearest (f32x4.pmin (f32x4.pmax (local.get $b) (v128.const f32x4 -512 -512 -512 -512))
          (v128.const f32x4 512 512 512 512))))
        (local.set $h (i16x8.narrow_i32x4_s
          (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $a)) (local.get $vz))
          (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $b)) (local.get $vz))))
        (local.set $h (i16x8.min_s (i16x8.max_s (local.get $h) (v128.const i16x8 0 0 0 0 0 0 0 0)) (local.get $vq)))
        (v128.store64_lane 0 (i32.add (local.get $d) (local.get $c)) (i8x16.narrow_i16x8_u (local.get $h) (local.get $h)))
        (local.set $s (i32.add (local.get $s) (i32.const 32)))
        (local.set $c (i32.add (local.get $c) (i32.const 8)))
        (br $ch)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; DequantizeLinear: rows of cs codes ($ss bytes apart) to rows of cs floats ($ds bytes apart),
  ;; (code - zp) * scale exactly as onnxruntime computes it.
  (func (export "dequantize") (param $src i32) (param $rows i32) (param $cs i32) (param $ss i32)
    (param $dst i32) (param $ds i32) (param $scale f32) (param $zp i32)
    (local $r i32) (local $c i32) (local $s i32) (local $d i32) (local $x v128) (local $vs v128) (local $vz v128)
    (local.set $vs (f32x4.splat (local.get $scale)))
    (local.set $vz (i16x8.splat (local.get $zp)))
    (block $done (loop $row
      (br_if $done (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $s (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $ss))))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $ds))))
      (local.set $c (i32.const 0))
      (block $cdone (loop $ch
        (br_if $cdone (i32.ge_s (local.get $c) (local.get $cs)))
        (local.set $x (i16x8.sub (v128.load8x8_u (i32.add (local.get $s) (local.get $c))) (local.get $vz)))
        (v128.store (local.get $d)
          (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_s (local.get $x))) (local.get $vs)))
        (v128.store offset=16 (local.get $d)
          (f32x4.mul (f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_s (local.get $x))) (local.get $vs)))
        (local.set $d (i32.add (local.get $d) (i32.const 32)))
        (local.set $c (i32.add (local.get $c) (i32.const 8)))
        (br $ch)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $row))))

  ;; The epilogue of one qgemm tile, $nr rows x 8 columns from row $row, column $j: the int32 sums
  ;; (zero-point correction included) were spilled to $acc as [row][8]. y = epi(float(acc) *
  ;; scale + bias) [+ R], written as floats to C and/or requantized to codes at $q. The leftover
  ;; rows' epilogue; qgemm's 4-row tiles compute the same values written out in place, with fewer
  ;; clamps (Node 20's V8 does not inline wasm calls, and a call with many v128 arguments per tile
  ;; cost more than the arithmetic where K is small).
  (func $qtile (param $acc i32) (param $nr i32) (param $row i32) (param $j i32) (param $sc i32) (param $bias i32)
    (param $c i32) (param $ldc i32) (param $res i32) (param $q i32) (param $ldq i32)
    (param $vlo v128) (param $vhi v128) (param $hs i32)
    (param $qs v128) (param $qz v128) (param $qlo v128) (param $qhi v128) (param $qmax v128)
    (local $r i32) (local $off i32) (local $sc0 v128) (local $sc1 v128) (local $b0 v128) (local $b1 v128)
    (local $e0 v128) (local $e1 v128)
    (local.set $sc0 (v128.load (i32.add (local.get $sc) (i32.shl (local.get $j) (i32.const 2)))))
    (local.set $sc1 (v128.load offset=16 (i32.add (local.get $sc) (i32.shl (local.get $j) (i32.const 2)))))
    (local.set $b0 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
    (local.set $b1 (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
    (block $done (loop $rows
      (br_if $done (i32.ge_s (local.get $r) (local.get $nr)))
      (local.set $off (i32.add (i32.mul (i32.add (local.get $row) (local.get $r)) (local.get $ldc))
        (i32.shl (local.get $j) (i32.const 2))))
      (local.set $e0 (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (v128.load (i32.add (local.get $acc) (i32.shl (local.get $r) (i32.const 5))))) (local.get $sc0)) (local.get $b0))
        (local.get $vlo)) (local.get $vhi)))
      (local.set $e1 (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (v128.load offset=16 (i32.add (local.get $acc) (i32.shl (local.get $r) (i32.const 5))))) (local.get $sc1)) (local.get $b1))
        (local.get $vlo)) (local.get $vhi)))
      (if (local.get $hs)
        (then (local.set $e0 (call $qhswish (local.get $e0))) (local.set $e1 (call $qhswish (local.get $e1)))))
      (if (local.get $res)
        (then
          (local.set $e0 (f32x4.add (local.get $e0) (v128.load (i32.add (local.get $res) (local.get $off)))))
          (local.set $e1 (f32x4.add (local.get $e1) (v128.load offset=16 (i32.add (local.get $res) (local.get $off)))))))
      (if (i32.ge_s (local.get $c) (i32.const 0))
        (then (v128.store (i32.add (local.get $c) (local.get $off)) (local.get $e0)) (v128.store offset=16 (i32.add (local.get $c) (local.get $off)) (local.get $e1))))
      (if (i32.ge_s (local.get $q) (i32.const 0))
        (then
          ;; requantize as "quantize" does: clamp to [qlo, qhi], divide by the scale, round half to even,
          ;; add the zero point, clamp to 0..qmax
          (local.set $e0 (f32x4.nearest (f32x4.pmin (f32x4.pmax
            (f32x4.div (f32x4.pmin (f32x4.pmax (local.get $e0) (local.get $qlo)) (local.get $qhi)) (local.get $qs))
            (v128.const f32x4 -512 -512 -512 -512)) (v128.const f32x4 512 512 512 512))))
          (local.set $e1 (f32x4.nearest (f32x4.pmin (f32x4.pmax
            (f32x4.div (f32x4.pmin (f32x4.pmax (local.get $e1) (local.get $qlo)) (local.get $qhi)) (local.get $qs))
            (v128.const f32x4 -512 -512 -512 -512)) (v128.const f32x4 512 512 512 512))))
          (local.set $e0 (i16x8.narrow_i32x4_s
            (i32x4.min_s (i32x4.max_s (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $e0)) (local.get $qz))
              (v128.const i32x4 0 0 0 0)) (local.get $qmax))
            (i32x4.min_s (i32x4.max_s (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $e1)) (local.get $qz))
              (v128.const i32x4 0 0 0 0)) (local.get $qmax))))
          (v128.store64_lane 0 (i32.add (local.get $q) (i32.add (i32.mul (i32.add (local.get $row) (local.get $r)) (local.get $ldq)) (local.get $j))) (i8x16.narrow_i16x8_u (local.get $e0) (local.get $e0)))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rows))))

  ;; C[m][n] floats and/or codes = epi((A · B + zc) * scale + bias) [+ R]. A: m rows of $kq codes
  ;; (0..127, $kq a multiple of 4), $lda bytes apart. B: int8, panels of 8 columns
  ;; [n/8][kq/4][2][4 columns][4 k] (32 bytes per 4 k). zc (int32), scale and bias (f32) per
  ;; column; zc = -zp · Σ_k B[k][col] takes out the activations' zero point.
  ;; As the fp32 gemm: rows go in chunks of $mc (a multiple of 4) whose 4-row tiles are first
  ;; repacked at $pack (>= mc*kq bytes) as [kq/4][4 rows][4 codes], so one v128 load brings the
  ;; codes of all four rows for 4 k and lane shuffles broadcast them (loads cost more than
  ;; shuffles in workerd); then every 8-column panel of B streams past the chunk while it sits in
  ;; cache, its zc/scale/bias loaded once per panel. Micro-kernel: 4 rows x 8 columns in 8 int32
  ;; accumulators that start from zc.
  (func (export "qgemm")
    (param $a i32) (param $lda i32) (param $m i32) (param $kq i32) (param $b i32) (param $n i32)
    (param $zc i32) (param $sc i32) (param $bias i32) (param $c i32) (param $ldc i32)
    (param $lo f32) (param $hi f32) (param $hs i32) (param $res i32)
    (param $q i32) (param $ldq i32) (param $qsf f32) (param $qzi i32) (param $qlof f32) (param $qhif f32) (param $qmaxi i32)
    (param $mc i32) (param $pack i32)
    (local $i i32) (local $j i32) (local $kb i32) (local $bp i32) (local $wb i32) (local $t i32) (local $tiles i32)
    (local $m0 i32) (local $mend i32) (local $pa i32) (local $paend i32) (local $tile i32) (local $k16 i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $spill i32)
    (local $vlo v128) (local $vhi v128) (local $w0 v128) (local $w1 v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128) (local $v v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local $z0 v128) (local $z1 v128) (local $sc0 v128) (local $sc1 v128) (local $b0 v128) (local $b1 v128)
    (local $e0 v128) (local $e1 v128) (local $r i32) (local $off i32)
    (local $qs v128) (local $qz v128) (local $qlo v128) (local $qhi v128) (local $qmax v128)
    (local $qclo v128) (local $qchi v128) (local $qmz v128) (local $merged i32)
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $qs (f32x4.splat (local.get $qsf)))
    (local.set $qz (i32x4.splat (local.get $qzi)))
    (local.set $qmz (i32x4.splat (i32.sub (i32.const 0x4b400000) (local.get $qzi))))
    (local.set $qlo (f32x4.splat (local.get $qlof)))
    (local.set $qhi (f32x4.splat (local.get $qhif)))
    (local.set $qmax (i32x4.splat (local.get $qmaxi)))
    (local.set $qclo (f32x4.splat (f32.convert_i32_s (i32.sub (i32.const 0) (local.get $qzi)))))
    (local.set $qchi (f32x4.splat (f32.convert_i32_s (i32.sub (local.get $qmaxi) (local.get $qzi)))))
    ;; Where only the codes are written (no fp32 output, residual or HardSwish), the activation's
    ;; clamp [lo, hi] and the requantizing clamp [qlo, qhi] become one clamp to
    ;; [min(max(lo, qlo), qhi), max(min(hi, qhi), qlo)]: the same value as the two in a row, also
    ;; when the ranges do not overlap. The leftover rows ($qtile) keep the two clamps.
    (local.set $merged (i32.and (i32.lt_s (local.get $c) (i32.const 0))
      (i32.and (i32.eqz (local.get $res)) (i32.eqz (local.get $hs)))))
    (if (local.get $merged)
      (then
        (local.set $vlo (f32x4.pmin (f32x4.pmax (local.get $vlo) (local.get $qlo)) (local.get $qhi)))
        (local.set $vhi (f32x4.pmax (f32x4.pmin (f32x4.splat (local.get $hi)) (local.get $qhi)) (local.get $qlo)))))
    (local.set $tile (i32.shl (local.get $kq) (i32.const 2)))
    ;; $pack starts with 128 bytes where a leftover row's accumulators are spilled for $qtile
    (local.set $spill (local.get $pack))
    (local.set $pack (i32.add (local.get $pack) (i32.const 128)))
    (local.set $k16 (i32.and (local.get $kq) (i32.const -16)))
    (block $done (loop $chunks
      (br_if $done (i32.ge_s (local.get $m0) (local.get $m)))
      (local.set $mend (i32.add (local.get $m0) (local.get $mc)))
      (if (i32.gt_s (local.get $mend) (local.get $m)) (then (local.set $mend (local.get $m))))
      (local.set $tiles (i32.shr_s (i32.sub (local.get $mend) (local.get $m0)) (i32.const 2)))
      ;; pack 4-row tiles: 4x4 transposes of 4-code groups for 16 k at a time, then 4 k at a time
      (local.set $t (i32.const 0))
      (block $pdone (loop $pl
        (br_if $pdone (i32.ge_s (local.get $t) (local.get $tiles)))
        (local.set $r0 (i32.add (local.get $a) (i32.mul (i32.add (local.get $m0) (i32.shl (local.get $t) (i32.const 2))) (local.get $lda))))
        (local.set $r1 (i32.add (local.get $r0) (local.get $lda)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $lda)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $lda)))
        (local.set $pa (i32.add (local.get $pack) (i32.mul (local.get $t) (local.get $tile))))
        (local.set $kb (i32.const 0))
        (block $tdone (loop $tl
          (br_if $tdone (i32.ge_s (local.get $kb) (local.get $k16)))
          (local.set $x0 (v128.load (i32.add (local.get $r0) (local.get $kb))))
          (local.set $x1 (v128.load (i32.add (local.get $r1) (local.get $kb))))
          (local.set $x2 (v128.load (i32.add (local.get $r2) (local.get $kb))))
          (local.set $x3 (v128.load (i32.add (local.get $r3) (local.get $kb))))
          (local.set $w0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1)))
          (local.set $w1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3)))
          (local.set $x0 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0) (local.get $x1)))
          (local.set $x2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2) (local.get $x3)))
          (v128.store (local.get $pa) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $w0) (local.get $w1)))
          (v128.store offset=16 (local.get $pa) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $w0) (local.get $w1)))
          (v128.store offset=32 (local.get $pa) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $x0) (local.get $x2)))
          (v128.store offset=48 (local.get $pa) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $x0) (local.get $x2)))
          (local.set $pa (i32.add (local.get $pa) (i32.const 64)))
          (local.set $kb (i32.add (local.get $kb) (i32.const 16)))
          (br $tl)))
        (block $sdone (loop $sl
          (br_if $sdone (i32.ge_s (local.get $kb) (local.get $kq)))
          (i32.store (local.get $pa) (i32.load (i32.add (local.get $r0) (local.get $kb))))
          (i32.store offset=4 (local.get $pa) (i32.load (i32.add (local.get $r1) (local.get $kb))))
          (i32.store offset=8 (local.get $pa) (i32.load (i32.add (local.get $r2) (local.get $kb))))
          (i32.store offset=12 (local.get $pa) (i32.load (i32.add (local.get $r3) (local.get $kb))))
          (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
          (local.set $kb (i32.add (local.get $kb) (i32.const 4)))
          (br $sl)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $pl)))
      (local.set $j (i32.const 0))
      (block $cdone (loop $cols
        (br_if $cdone (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $wb (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $kq))))
        (local.set $z0 (v128.load (i32.add (local.get $zc) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $z1 (v128.load offset=16 (i32.add (local.get $zc) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $sc0 (v128.load (i32.add (local.get $sc) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $sc1 (v128.load offset=16 (i32.add (local.get $sc) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $b0 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $b1 (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $t (i32.const 0))
        (block $r4done (loop $r4
          (br_if $r4done (i32.ge_s (local.get $t) (local.get $tiles)))
          (local.set $s00 (local.get $z0)) (local.set $s01 (local.get $z1))
          (local.set $s10 (local.get $z0)) (local.set $s11 (local.get $z1))
          (local.set $s20 (local.get $z0)) (local.set $s21 (local.get $z1))
          (local.set $s30 (local.get $z0)) (local.set $s31 (local.get $z1))
          (local.set $pa (i32.add (local.get $pack) (i32.mul (local.get $t) (local.get $tile))))
          (local.set $paend (i32.add (local.get $pa) (local.get $tile)))
          (local.set $bp (local.get $wb))
          (block $kdone (loop $ks
            (br_if $kdone (i32.ge_u (local.get $pa) (local.get $paend)))
            (local.set $w0 (v128.load (local.get $bp)))
            (local.set $w1 (v128.load offset=16 (local.get $bp)))
            (local.set $v (v128.load (local.get $pa)))
            (local.set $x0 (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $v) (local.get $v)))
            (local.set $s00 (DOT (local.get $w0) (local.get $x0) (local.get $s00)))
            (local.set $s01 (DOT (local.get $w1) (local.get $x0) (local.get $s01)))
            (local.set $x0 (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $v) (local.get $v)))
            (local.set $s10 (DOT (local.get $w0) (local.get $x0) (local.get $s10)))
            (local.set $s11 (DOT (local.get $w1) (local.get $x0) (local.get $s11)))
            (local.set $x0 (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $v) (local.get $v)))
            (local.set $s20 (DOT (local.get $w0) (local.get $x0) (local.get $s20)))
            (local.set $s21 (DOT (local.get $w1) (local.get $x0) (local.get $s21)))
            (local.set $x0 (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $v) (local.get $v)))
            (local.set $s30 (DOT (local.get $w0) (local.get $x0) (local.get $s30)))
            (local.set $s31 (DOT (local.get $w1) (local.get $x0) (local.get $s31)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
            (local.set $pa (i32.add (local.get $pa) (i32.const 16)))
            (br $ks)))
          (local.set $i (i32.add (local.get $m0) (i32.shl (local.get $t) (i32.const 2))))
          ;; the tile's epilogue, written out here (the hot path; leftover rows call $qtile), row by
          ;; row from the accumulators, which move up one row after each (register moves, no spill)
          (local.set $r (i32.const 0))
          (block $qdone (loop $qrows
            (br_if $qdone (i32.ge_s (local.get $r) (i32.const 4)))
            (local.set $off (i32.add (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $ldc))
              (i32.shl (local.get $j) (i32.const 2))))
            (local.set $e0 (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $s00)) (local.get $sc0)) (local.get $b0))
              (local.get $vlo)) (local.get $vhi)))
            (local.set $e1 (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $s01)) (local.get $sc1)) (local.get $b1))
              (local.get $vlo)) (local.get $vhi)))
            (if (local.get $hs)
              (then (local.set $e0 (call $qhswish (local.get $e0))) (local.set $e1 (call $qhswish (local.get $e1)))))
            (if (local.get $res)
              (then
                (local.set $e0 (f32x4.add (local.get $e0) (v128.load (i32.add (local.get $res) (local.get $off)))))
                (local.set $e1 (f32x4.add (local.get $e1) (v128.load offset=16 (i32.add (local.get $res) (local.get $off)))))))
            (if (i32.ge_s (local.get $c) (i32.const 0))
              (then (v128.store (i32.add (local.get $c) (local.get $off)) (local.get $e0)) (v128.store offset=16 (i32.add (local.get $c) (local.get $off)) (local.get $e1))))
            (if (i32.ge_s (local.get $q) (i32.const 0))
              (then
                ;; requantize as "quantize" does: clamp to [qlo, qhi] (already done by the merged
                ;; clamp above where nothing else reads y), divide by the scale, round half to even,
                ;; add the zero point, clamp to 0..qmax. Clamping the quotient to the integers
                ;; [-zp, qmax - zp] before rounding gives the same codes as clamping the rounded
                ;; code to 0..qmax (the bounds are integers and rounding is monotone), in fewer ops;
                ;; rounding and adding the zero point are the 1.5 · 2^23 add and one subtraction
                ;; (see the top).
                (if (i32.eqz (local.get $merged))
                  (then
                    (local.set $e0 (f32x4.pmin (f32x4.pmax (local.get $e0) (local.get $qlo)) (local.get $qhi)))
                    (local.set $e1 (f32x4.pmin (f32x4.pmax (local.get $e1) (local.get $qlo)) (local.get $qhi)))))
                (local.set $e0 (f32x4.add (f32x4.pmin (f32x4.pmax (f32x4.div (local.get $e0) (local.get $qs))
                  (local.get $qclo)) (local.get $qchi)) (v128.const f32x4 12582912 12582912 12582912 12582912)))
                (local.set $e1 (f32x4.add (f32x4.pmin (f32x4.pmax (f32x4.div (local.get $e1) (local.get $qs))
                  (local.get $qclo)) (local.get $qchi)) (v128.const f32x4 12582912 12582912 12582912 12582912)))
                (local.set $e0 (i16x8.narrow_i32x4_s
                  (i32x4.sub (local.get $e0) (local.get $qmz))
                  (i32x4.sub (local.get $e1) (local.get $qmz))))
                (v128.store64_lane 0 (i32.add (local.get $q) (i32.add (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $ldq)) (local.get $j))) (i8x16.narrow_i16x8_u (local.get $e0) (local.get $e0)))))
            (local.set $s00 (local.get $s10)) (local.set $s01 (local.get $s11))
            (local.set $s10 (local.get $s20)) (local.set $s11 (local.get $s21))
            (local.set $s20 (local.get $s30)) (local.set $s21 (local.get $s31))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $qrows)))
          (local.set $t (i32.add (local.get $t) (i32.const 1)))
          (br $r4)))
        ;; leftover rows of the chunk (fewer than 4), straight from A
        (local.set $i (i32.add (local.get $m0) (i32.shl (local.get $tiles) (i32.const 2))))
        (block $r1done (loop $r1
          (br_if $r1done (i32.ge_s (local.get $i) (local.get $mend)))
          (local.set $r0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
          (local.set $s00 (local.get $z0)) (local.set $s01 (local.get $z1))
          (local.set $bp (local.get $wb))
          (local.set $kb (i32.const 0))
          (block $k1done (loop $ks1
            (br_if $k1done (i32.ge_s (local.get $kb) (local.get $kq)))
            (local.set $x0 (v128.load32_splat (i32.add (local.get $r0) (local.get $kb))))
            (local.set $w0 (v128.load (local.get $bp)))
            (local.set $w1 (v128.load offset=16 (local.get $bp)))
            (local.set $s00 (DOT (local.get $w0) (local.get $x0) (local.get $s00)))
            (local.set $s01 (DOT (local.get $w1) (local.get $x0) (local.get $s01)))
            (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
            (local.set $kb (i32.add (local.get $kb) (i32.const 4)))
            (br $ks1)))
          (v128.store (local.get $spill) (local.get $s00)) (v128.store offset=16 (local.get $spill) (local.get $s01))
          (call $qtile (local.get $spill) (i32.const 1) (local.get $i) (local.get $j) (local.get $sc) (local.get $bias) (local.get $c) (local.get $ldc)
            (local.get $res) (local.get $q) (local.get $ldq) (local.get $vlo) (local.get $vhi) (local.get $hs)
            (local.get $qs) (local.get $qz) (local.get $qlo) (local.get $qhi) (local.get $qmax))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $r1)))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $cols)))
      (local.set $m0 (local.get $mend))
      (br $chunks))))

  ;; Depthwise 3x3 on codes, stride 1 or 2: out[oy][ox][c] = epi(Σ_taps (x - zp) · w · scale + bias)
  ;; as floats at $out and/or requantized codes at $qo (-1: not written). Weights: $wt int16
  ;; [9][cs] (widened once when packed), $wt2 int8 tap fours [3][cs][4] (taps 0-3, 4-7, 8 with
  ;; three zero partners); $zc: int32 [cs], -zp · Σ_taps w. Sums are exact int32 in both variants.
  ;; Where the 3×3 window lies inside the image (almost every pixel) the nine taps are unrolled and
  ;; the zero point is taken out once through $zc; at the border, padding taps (code zp) add
  ;; nothing and are skipped, and each tap subtracts zp. Both sums are the same int32.
  (func (export "qdw3x3") (param $in i32) (param $h i32) (param $w i32) (param $cs i32) (param $zp i32)
    (param $out i32) (param $oh i32) (param $ow i32) (param $stride i32) (param $pt i32) (param $pl i32)
    (param $wt i32) (param $wt2 i32) (param $zc i32) (param $sc i32) (param $bias i32) (param $lo f32) (param $hi f32) (param $hs i32)
    (param $qo i32) (param $qsf f32) (param $qzi i32) (param $qlof f32) (param $qhif f32) (param $qmaxi i32)
    (local $oy i32) (local $ox i32) (local $c i32) (local $ky i32) (local $kx i32) (local $iy i32) (local $ix i32)
    (local $o i32) (local $q i32) (local $row i32) (local $tap i32) (local $inside i32) (local $yin i32)
    (local $p i32) (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $wp i32) (local $ts i32)
    (local $cs2 i32) (local $rs i32) (local $halves i32)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $y v128) (local $d v128) (local $x v128) (local $wv v128) (local $e0 v128) (local $e1 v128)
    (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local $qclo v128) (local $qchi v128) (local $qmz v128) (local $merged i32)
    (local $vz v128) (local $vlo v128) (local $vhi v128)
    (local $qs v128) (local $qlo v128) (local $qhi v128) (local $qmax v128)
    (local.set $vz (i16x8.splat (local.get $zp)))
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $qs (f32x4.splat (local.get $qsf)))
    (local.set $qmz (i32x4.splat (i32.sub (i32.const 0x4b400000) (local.get $qzi))))
    (local.set $qlo (f32x4.splat (local.get $qlof)))
    (local.set $qhi (f32x4.splat (local.get $qhif)))
    (local.set $qmax (i32x4.splat (local.get $qmaxi)))
    (local.set $qclo (f32x4.splat (f32.convert_i32_s (i32.sub (i32.const 0) (local.get $qzi)))))
    (local.set $qchi (f32x4.splat (f32.convert_i32_s (i32.sub (local.get $qmaxi) (local.get $qzi)))))
    ;; only codes written and no HardSwish: one clamp, as in qgemm
    (local.set $merged (i32.and (i32.lt_s (local.get $out) (i32.const 0)) (i32.eqz (local.get $hs))))
    (if (local.get $merged)
      (then
        (local.set $vlo (f32x4.pmin (f32x4.pmax (local.get $vlo) (local.get $qlo)) (local.get $qhi)))
        (local.set $vhi (f32x4.pmax (f32x4.pmin (local.get $vhi) (local.get $qhi)) (local.get $qlo)))))
    (local.set $ts (i32.shl (local.get $cs) (i32.const 1)))
    (local.set $cs2 (i32.shl (local.get $cs) (i32.const 1)))
    (local.set $rs (i32.mul (local.get $w) (local.get $cs)))
    (local.set $o (local.get $out))
    (local.set $q (local.get $qo))
    (block $ydone (loop $ys
      (br_if $ydone (i32.ge_s (local.get $oy) (local.get $oh)))
      (local.set $iy (i32.sub (i32.mul (local.get $oy) (local.get $stride)) (local.get $pt)))
      (local.set $yin (i32.and (i32.ge_s (local.get $iy) (i32.const 0))
        (i32.lt_s (i32.add (local.get $iy) (i32.const 2)) (local.get $h))))
      (local.set $ox (i32.const 0))
      (block $xdone (loop $xs
        (br_if $xdone (i32.ge_s (local.get $ox) (local.get $ow)))
        (local.set $ix (i32.sub (i32.mul (local.get $ox) (local.get $stride)) (local.get $pl)))
        (local.set $inside (i32.and (local.get $yin) (i32.and (i32.ge_s (local.get $ix) (i32.const 0))
          (i32.lt_s (i32.add (local.get $ix) (i32.const 2)) (local.get $w)))))
        (local.set $p (i32.add (local.get $in)
          (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $w)) (local.get $ix)) (local.get $cs))))
        (local.set $c (i32.const 0))
        (block $cdone (loop $cl
          (br_if $cdone (i32.ge_s (local.get $c) (local.get $cs)))
          (if (local.get $inside)
            (then
              (local.set $halves (i32.const 1))
              (local.set $r0 (i32.add (local.get $p) (local.get $c)))
              (local.set $r1 (i32.add (local.get $r0) (local.get $rs)))
              (local.set $r2 (i32.add (local.get $r1) (local.get $rs)))
              (if (i32.le_s (i32.add (local.get $c) (i32.const 16)) (local.get $cs))
                (then
                  ;; 16 channels, taps in fours (0-3, 4-7, 8 alone): the four taps' codes interleaved so that
                  ;; each i32 lane holds one channel's four codes, one DOT per 4 channels against the packed
                  ;; weights $wt2 int8 [3][cs][4] (tap 8 with three zero partners): exact int32 sums
                  (local.set $halves (i32.const 2))
                  (local.set $wp (i32.add (local.get $wt2) (i32.shl (local.get $c) (i32.const 2))))
                  (local.set $acc0 (v128.load (i32.add (local.get $zc) (i32.shl (local.get $c) (i32.const 2)))))
                  (local.set $acc1 (v128.load offset=16 (i32.add (local.get $zc) (i32.shl (local.get $c) (i32.const 2)))))
                  (local.set $acc2 (v128.load offset=32 (i32.add (local.get $zc) (i32.shl (local.get $c) (i32.const 2)))))
                  (local.set $acc3 (v128.load offset=48 (i32.add (local.get $zc) (i32.shl (local.get $c) (i32.const 2)))))
                  (local.set $u0 (v128.load (local.get $r0)))
                  (local.set $u1 (v128.load (i32.add (local.get $r0) (local.get $cs))))
                  (local.set $u2 (v128.load (i32.add (local.get $r0) (local.get $cs2))))
                  (local.set $u3 (v128.load (local.get $r1)))
                  (local.set $x (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $u0) (local.get $u1)))
                  (local.set $y (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $u0) (local.get $u1)))
                  (local.set $u0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $u2) (local.get $u3)))
                  (local.set $u1 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $u2) (local.get $u3)))
                  (local.set $d (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $x) (local.get $u0)))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (DOT (local.get $wv) (local.get $d) (local.get $acc0)))
                  (local.set $d (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $x) (local.get $u0)))
                  (local.set $wv (v128.load offset=16 (local.get $wp)))
                  (local.set $acc1 (DOT (local.get $wv) (local.get $d) (local.get $acc1)))
                  (local.set $d (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $y) (local.get $u1)))
                  (local.set $wv (v128.load offset=32 (local.get $wp)))
                  (local.set $acc2 (DOT (local.get $wv) (local.get $d) (local.get $acc2)))
                  (local.set $d (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $y) (local.get $u1)))
                  (local.set $wv (v128.load offset=48 (local.get $wp)))
                  (local.set $acc3 (DOT (local.get $wv) (local.get $d) (local.get $acc3)))
                  (local.set $wp (i32.add (local.get $wp) (i32.shl (local.get $cs) (i32.const 2))))
                  (local.set $u0 (v128.load (i32.add (local.get $r1) (local.get $cs))))
                  (local.set $u1 (v128.load (i32.add (local.get $r1) (local.get $cs2))))
                  (local.set $u2 (v128.load (local.get $r2)))
                  (local.set $u3 (v128.load (i32.add (local.get $r2) (local.get $cs))))
                  (local.set $x (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $u0) (local.get $u1)))
                  (local.set $y (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $u0) (local.get $u1)))
                  (local.set $u0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $u2) (local.get $u3)))
                  (local.set $u1 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $u2) (local.get $u3)))
                  (local.set $d (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $x) (local.get $u0)))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (DOT (local.get $wv) (local.get $d) (local.get $acc0)))
                  (local.set $d (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $x) (local.get $u0)))
                  (local.set $wv (v128.load offset=16 (local.get $wp)))
                  (local.set $acc1 (DOT (local.get $wv) (local.get $d) (local.get $acc1)))
                  (local.set $d (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $y) (local.get $u1)))
                  (local.set $wv (v128.load offset=32 (local.get $wp)))
                  (local.set $acc2 (DOT (local.get $wv) (local.get $d) (local.get $acc2)))
                  (local.set $d (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $y) (local.get $u1)))
                  (local.set $wv (v128.load offset=48 (local.get $wp)))
                  (local.set $acc3 (DOT (local.get $wv) (local.get $d) (local.get $acc3)))
                  (local.set $wp (i32.add (local.get $wp) (i32.shl (local.get $cs) (i32.const 2))))
                  (local.set $u0 (v128.load (i32.add (local.get $r2) (local.get $cs2))))
                  (local.set $x (i16x8.extend_low_i8x16_u (local.get $u0)))
                  (local.set $y (i16x8.extend_high_i8x16_u (local.get $u0)))
                  (local.set $d (i32x4.extend_low_i16x8_u (local.get $x)))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (DOT (local.get $wv) (local.get $d) (local.get $acc0)))
                  (local.set $d (i32x4.extend_high_i16x8_u (local.get $x)))
                  (local.set $wv (v128.load offset=16 (local.get $wp)))
                  (local.set $acc1 (DOT (local.get $wv) (local.get $d) (local.get $acc1)))
                  (local.set $d (i32x4.extend_low_i16x8_u (local.get $y)))
                  (local.set $wv (v128.load offset=32 (local.get $wp)))
                  (local.set $acc2 (DOT (local.get $wv) (local.get $d) (local.get $acc2)))
                  (local.set $d (i32x4.extend_high_i16x8_u (local.get $y)))
                  (local.set $wv (v128.load offset=48 (local.get $wp)))
                  (local.set $acc3 (DOT (local.get $wv) (local.get $d) (local.get $acc3)))
                )
                (else
                  (local.set $wp (i32.add (local.get $wt) (i32.shl (local.get $c) (i32.const 1))))
                  (local.set $acc0 (v128.load (i32.add (local.get $zc) (i32.shl (local.get $c) (i32.const 2)))))
                  (local.set $acc1 (v128.load offset=16 (i32.add (local.get $zc) (i32.shl (local.get $c) (i32.const 2)))))
                  (local.set $x (v128.load8x8_u (local.get $r0)))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $wp (i32.add (local.get $wp) (local.get $ts)))
                  (local.set $x (v128.load8x8_u (i32.add (local.get $r0) (local.get $cs))))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $wp (i32.add (local.get $wp) (local.get $ts)))
                  (local.set $x (v128.load8x8_u (i32.add (local.get $r0) (local.get $cs2))))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $wp (i32.add (local.get $wp) (local.get $ts)))
                  (local.set $x (v128.load8x8_u (local.get $r1)))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $wp (i32.add (local.get $wp) (local.get $ts)))
                  (local.set $x (v128.load8x8_u (i32.add (local.get $r1) (local.get $cs))))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $wp (i32.add (local.get $wp) (local.get $ts)))
                  (local.set $x (v128.load8x8_u (i32.add (local.get $r1) (local.get $cs2))))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $wp (i32.add (local.get $wp) (local.get $ts)))
                  (local.set $x (v128.load8x8_u (local.get $r2)))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $wp (i32.add (local.get $wp) (local.get $ts)))
                  (local.set $x (v128.load8x8_u (i32.add (local.get $r2) (local.get $cs))))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $wp (i32.add (local.get $wp) (local.get $ts)))
                  (local.set $x (v128.load8x8_u (i32.add (local.get $r2) (local.get $cs2))))
                  (local.set $wv (v128.load (local.get $wp)))
                  (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                  (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv)))))))
            (else
              (local.set $halves (i32.const 1))
              (local.set $acc0 (v128.const i32x4 0 0 0 0))
              (local.set $acc1 (v128.const i32x4 0 0 0 0))
              (local.set $ky (i32.const 0))
              (block $kydone (loop $kys
                (br_if $kydone (i32.ge_s (local.get $ky) (i32.const 3)))
                (local.set $row (i32.add (local.get $iy) (local.get $ky)))
                (if (i32.lt_u (local.get $row) (local.get $h))
                  (then
                    (local.set $row (i32.add (local.get $in) (i32.mul (i32.mul (local.get $row) (local.get $w)) (local.get $cs))))
                    (local.set $kx (i32.const 0))
                    (block $kxdone (loop $kxs
                      (br_if $kxdone (i32.ge_s (local.get $kx) (i32.const 3)))
                      (local.set $tap (i32.add (local.get $ix) (local.get $kx)))
                      (if (i32.lt_u (local.get $tap) (local.get $w))
                        (then
                          (local.set $x (i16x8.sub
                            (v128.load8x8_u (i32.add (i32.add (local.get $row) (i32.mul (local.get $tap) (local.get $cs))) (local.get $c)))
                            (local.get $vz)))
                          (local.set $wv (v128.load (i32.add (local.get $wt)
                            (i32.shl (i32.add (i32.mul (i32.add (i32.mul (local.get $ky) (i32.const 3)) (local.get $kx)) (local.get $cs))
                              (local.get $c)) (i32.const 1)))))
                          (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                          (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))))
                      (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
                      (br $kxs)))))
                (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
                (br $kys)))))
          ;; the epilogue of 8 channels at a time (twice after the 16-channel path)
          (loop $half
            (local.set $e0 (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $acc0)) (v128.load (i32.add (local.get $sc) (i32.shl (local.get $c) (i32.const 2))))) (v128.load (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2)))))
              (local.get $vlo)) (local.get $vhi)))
            (local.set $e1 (f32x4.pmin (f32x4.pmax (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (local.get $acc1)) (v128.load offset=16 (i32.add (local.get $sc) (i32.shl (local.get $c) (i32.const 2))))) (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2)))))
              (local.get $vlo)) (local.get $vhi)))
            (if (local.get $hs)
              (then (local.set $e0 (call $qhswish (local.get $e0))) (local.set $e1 (call $qhswish (local.get $e1)))))
            (if (i32.ge_s (local.get $out) (i32.const 0))
              (then (v128.store (i32.add (local.get $o) (i32.shl (local.get $c) (i32.const 2))) (local.get $e0)) (v128.store offset=16 (i32.add (local.get $o) (i32.shl (local.get $c) (i32.const 2))) (local.get $e1))))
            (if (i32.ge_s (local.get $qo) (i32.const 0))
              (then
                ;; requantize as qgemm's tile does (the same codes as "quantize"): clamp to [qlo, qhi]
                ;; unless merged above, divide by the scale, clamp to [-zp, qmax - zp], round half to
                ;; even and add the zero point (the 1.5 · 2^23 add and one subtraction: see the top)
                (if (i32.eqz (local.get $merged))
                  (then
                    (local.set $e0 (f32x4.pmin (f32x4.pmax (local.get $e0) (local.get $qlo)) (local.get $qhi)))
                    (local.set $e1 (f32x4.pmin (f32x4.pmax (local.get $e1) (local.get $qlo)) (local.get $qhi)))))
                (local.set $e0 (f32x4.add (f32x4.pmin (f32x4.pmax (f32x4.div (local.get $e0) (local.get $qs))
                  (local.get $qclo)) (local.get $qchi)) (v128.const f32x4 12582912 12582912 12582912 12582912)))
                (local.set $e1 (f32x4.add (f32x4.pmin (f32x4.pmax (f32x4.div (local.get $e1) (local.get $qs))
                  (local.get $qclo)) (local.get $qchi)) (v128.const f32x4 12582912 12582912 12582912 12582912)))
                (local.set $e0 (i16x8.narrow_i32x4_s
                  (i32x4.sub (local.get $e0) (local.get $qmz))
                  (i32x4.sub (local.get $e1) (local.get $qmz))))
                (v128.store64_lane 0 (i32.add (local.get $q) (local.get $c)) (i8x16.narrow_i16x8_u (local.get $e0) (local.get $e0)))))
            (local.set $c (i32.add (local.get $c) (i32.const 8)))
            (local.set $acc0 (local.get $acc2))
            (local.set $acc1 (local.get $acc3))
            (local.set $halves (i32.sub (local.get $halves) (i32.const 1)))
            (br_if $half (local.get $halves)))
          (br $cl)))
        (if (i32.ge_s (local.get $out) (i32.const 0))
          (then (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cs) (i32.const 2))))))
        (if (i32.ge_s (local.get $qo) (i32.const 0))
          (then (local.set $q (i32.add (local.get $q) (local.get $cs)))))
        (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
        (br $xs)))
      (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
      (br $ys))))

  ;; im2col on codes: output pixels p0 .. p0+rows-1 become rows of $kq bytes: kh·kw taps of $cin
  ;; codes each (tap-major, as the packed weights), zp for padding taps and for the tail up to $kq.
  (func (export "im2col_u8") (param $in i32) (param $h i32) (param $w i32) (param $cs i32) (param $cin i32)
    (param $kh i32) (param $kw i32) (param $sh i32) (param $sw i32) (param $pt i32) (param $pl i32)
    (param $dh i32) (param $dw i32) (param $ow i32) (param $p0 i32) (param $rows i32) (param $dst i32)
    (param $kq i32) (param $zp i32)
    (local $r i32) (local $p i32) (local $oy i32) (local $ox i32) (local $ky i32) (local $kx i32)
    (local $iy i32) (local $ix i32) (local $d i32) (local $e i32) (local $src i32) (local $short i32)
    (local $zp8 i64)
    (local.set $zp8 (i64.mul (i64.extend_i32_u (i32.and (local.get $zp) (i32.const 255))) (i64.const 0x0101010101010101)))
    (block $rdone (loop $rl
      (br_if $rdone (i32.ge_s (local.get $r) (local.get $rows)))
      (local.set $p (i32.add (local.get $p0) (local.get $r)))
      (local.set $oy (i32.div_u (local.get $p) (local.get $ow)))
      (local.set $ox (i32.rem_u (local.get $p) (local.get $ow)))
      (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $kq))))
      (local.set $e (i32.add (local.get $d) (local.get $kq)))
      (local.set $ky (i32.const 0))
      (block $kydone (loop $kys
        (br_if $kydone (i32.ge_s (local.get $ky) (local.get $kh)))
        (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt))
          (i32.mul (local.get $ky) (local.get $dh))))
        (local.set $kx (i32.const 0))
        (block $kxdone (loop $kxs
          (br_if $kxdone (i32.ge_s (local.get $kx) (local.get $kw)))
          (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $pl))
            (i32.mul (local.get $kx) (local.get $dw))))
          (local.set $short (i32.and (i32.le_u (local.get $cin) (i32.const 8))
            (i32.le_u (i32.add (local.get $d) (i32.const 8)) (local.get $e))))
          ;; A tap of at most 8 codes (the first conv's 3 channels) is one 8-byte load and store: its
          ;; pixel holds cs >= 8 bytes, and the bytes written past the tap belong to the next tap or
          ;; to the row's tail, both written after it; only a tap ending within 8 bytes of the row's
          ;; end takes memory.copy/fill, which cost a call each.
          (if (i32.and (i32.lt_u (local.get $iy) (local.get $h)) (i32.lt_u (local.get $ix) (local.get $w)))
            (then
              (local.set $src
                (i32.add (local.get $in) (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $w)) (local.get $ix)) (local.get $cs))))
              (if (local.get $short)
                (then (i64.store (local.get $d) (i64.load (local.get $src))))
                (else (memory.copy (local.get $d) (local.get $src) (local.get $cin)))))
            (else
              (if (local.get $short)
                (then (i64.store (local.get $d) (local.get $zp8)))
                (else (memory.fill (local.get $d) (local.get $zp) (local.get $cin))))))
          (local.set $d (i32.add (local.get $d) (local.get $cin)))
          (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
          (br $kxs)))
        (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
        (br $kys)))
      (memory.fill (local.get $d) (local.get $zp) (i32.sub (local.get $e) (local.get $d)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))
