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

  (func $qepi (param $acc v128) (param $zc v128) (param $sc v128) (param $b v128)
    (param $lo v128) (param $hi v128) (param $hs i32) (result v128)
    (local $v v128)
    (local.set $v (f32x4.add
      (f32x4.mul (f32x4.convert_i32x4_s (i32x4.add (local.get $acc) (local.get $zc))) (local.get $sc))
      (local.get $b)))
    (local.set $v (f32x4.pmin (f32x4.pmax (local.get $v) (local.get $lo)) (local.get $hi)))
    (if (local.get $hs)
      (then
        (local.set $v (f32x4.mul (local.get $v)
          (f32x4.pmin
            (f32x4.pmax
              (f32x4.add
                (f32x4.mul (local.get $v) (v128.const f32x4 0.16666667 0.16666667 0.16666667 0.16666667))
                (v128.const f32x4 0.5 0.5 0.5 0.5))
              (v128.const f32x4 0 0 0 0))
            (v128.const f32x4 1 1 1 1))))))
    (local.get $v))

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

  ;; One 4-column epilogue of qgemm: C[row][col..col+4) (+ R when $res != 0).
  (func $qout (param $acc v128) (param $row i32) (param $col i32) (param $zc i32) (param $sc i32)
    (param $bias i32) (param $c i32) (param $ldc i32) (param $lo v128) (param $hi v128) (param $hs i32)
    (param $res i32)
    (local $at i32) (local $off i32) (local $v v128)
    (local.set $at (i32.shl (local.get $col) (i32.const 2)))
    (local.set $off (i32.add (i32.mul (local.get $row) (local.get $ldc)) (local.get $at)))
    (local.set $v (call $qepi (local.get $acc)
      (v128.load (i32.add (local.get $zc) (local.get $at)))
      (v128.load (i32.add (local.get $sc) (local.get $at)))
      (v128.load (i32.add (local.get $bias) (local.get $at)))
      (local.get $lo) (local.get $hi) (local.get $hs)))
    (if (local.get $res)
      (then (local.set $v (f32x4.add (local.get $v) (v128.load (i32.add (local.get $res) (local.get $off)))))))
    (v128.store (i32.add (local.get $c) (local.get $off)) (local.get $v)))

  ;; C[m][n] floats = epi((A · B + zc) * scale + bias) [+ R]. A: m rows of $kq codes (0..127), $lda
  ;; bytes apart. B: int8, panels of 8 columns [n/8][kq/4][2][4 columns][4 k] (32 bytes per 4 k).
  ;; zc (int32), scale and bias (f32) per column; zc = -zp · Σ_k B[k][col] takes out the
  ;; activations' zero point. Micro-kernel: 4 rows x 8 columns in 8 int32 accumulators; each row's
  ;; 4 codes of one k block are one i32 load broadcast to all lanes.
  (func (export "qgemm")
    (param $a i32) (param $lda i32) (param $m i32) (param $kq i32) (param $b i32) (param $n i32)
    (param $zc i32) (param $sc i32) (param $bias i32) (param $c i32) (param $ldc i32)
    (param $lo f32) (param $hi f32) (param $hs i32) (param $res i32)
    (local $i i32) (local $j i32) (local $kb i32) (local $bp i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $vlo v128) (local $vhi v128) (local $w0 v128) (local $w1 v128)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    ;; 4-row tiles
    (block $tdone (loop $tiles
      (br_if $tdone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
      (local.set $r0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
      (local.set $r1 (i32.add (local.get $r0) (local.get $lda)))
      (local.set $r2 (i32.add (local.get $r1) (local.get $lda)))
      (local.set $r3 (i32.add (local.get $r2) (local.get $lda)))
      (local.set $j (i32.const 0))
      (block $cdone (loop $cols
        (br_if $cdone (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $bp (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $kq))))
        (local.set $s00 (v128.const i32x4 0 0 0 0)) (local.set $s01 (v128.const i32x4 0 0 0 0))
        (local.set $s10 (v128.const i32x4 0 0 0 0)) (local.set $s11 (v128.const i32x4 0 0 0 0))
        (local.set $s20 (v128.const i32x4 0 0 0 0)) (local.set $s21 (v128.const i32x4 0 0 0 0))
        (local.set $s30 (v128.const i32x4 0 0 0 0)) (local.set $s31 (v128.const i32x4 0 0 0 0))
        (local.set $kb (i32.const 0))
        (block $kdone (loop $ks
          (br_if $kdone (i32.ge_s (local.get $kb) (local.get $kq)))
          (local.set $w0 (v128.load (local.get $bp)))
          (local.set $w1 (v128.load offset=16 (local.get $bp)))
          (local.set $x0 (v128.load32_splat (i32.add (local.get $r0) (local.get $kb))))
          (local.set $x1 (v128.load32_splat (i32.add (local.get $r1) (local.get $kb))))
          (local.set $x2 (v128.load32_splat (i32.add (local.get $r2) (local.get $kb))))
          (local.set $x3 (v128.load32_splat (i32.add (local.get $r3) (local.get $kb))))
          (local.set $s00 (DOT (local.get $w0) (local.get $x0) (local.get $s00)))
          (local.set $s01 (DOT (local.get $w1) (local.get $x0) (local.get $s01)))
          (local.set $s10 (DOT (local.get $w0) (local.get $x1) (local.get $s10)))
          (local.set $s11 (DOT (local.get $w1) (local.get $x1) (local.get $s11)))
          (local.set $s20 (DOT (local.get $w0) (local.get $x2) (local.get $s20)))
          (local.set $s21 (DOT (local.get $w1) (local.get $x2) (local.get $s21)))
          (local.set $s30 (DOT (local.get $w0) (local.get $x3) (local.get $s30)))
          (local.set $s31 (DOT (local.get $w1) (local.get $x3) (local.get $s31)))
          (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
          (local.set $kb (i32.add (local.get $kb) (i32.const 4)))
          (br $ks)))
        (call $qout (local.get $s00) (local.get $i) (local.get $j) (local.get $zc) (local.get $sc) (local.get $bias)
          (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi) (local.get $hs) (local.get $res))
        (call $qout (local.get $s01) (local.get $i) (i32.add (local.get $j) (i32.const 4)) (local.get $zc) (local.get $sc)
          (local.get $bias) (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi) (local.get $hs) (local.get $res))
        (call $qout (local.get $s10) (i32.add (local.get $i) (i32.const 1)) (local.get $j) (local.get $zc) (local.get $sc)
          (local.get $bias) (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi) (local.get $hs) (local.get $res))
        (call $qout (local.get $s11) (i32.add (local.get $i) (i32.const 1)) (i32.add (local.get $j) (i32.const 4))
          (local.get $zc) (local.get $sc) (local.get $bias) (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi)
          (local.get $hs) (local.get $res))
        (call $qout (local.get $s20) (i32.add (local.get $i) (i32.const 2)) (local.get $j) (local.get $zc) (local.get $sc)
          (local.get $bias) (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi) (local.get $hs) (local.get $res))
        (call $qout (local.get $s21) (i32.add (local.get $i) (i32.const 2)) (i32.add (local.get $j) (i32.const 4))
          (local.get $zc) (local.get $sc) (local.get $bias) (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi)
          (local.get $hs) (local.get $res))
        (call $qout (local.get $s30) (i32.add (local.get $i) (i32.const 3)) (local.get $j) (local.get $zc) (local.get $sc)
          (local.get $bias) (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi) (local.get $hs) (local.get $res))
        (call $qout (local.get $s31) (i32.add (local.get $i) (i32.const 3)) (i32.add (local.get $j) (i32.const 4))
          (local.get $zc) (local.get $sc) (local.get $bias) (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi)
          (local.get $hs) (local.get $res))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $cols)))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $tiles)))
    ;; the last m % 4 rows, one at a time
    (block $rdone (loop $rows
      (br_if $rdone (i32.ge_s (local.get $i) (local.get $m)))
      (local.set $r0 (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
      (local.set $j (i32.const 0))
      (block $c1done (loop $cols1
        (br_if $c1done (i32.ge_s (local.get $j) (local.get $n)))
        (local.set $bp (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $kq))))
        (local.set $s00 (v128.const i32x4 0 0 0 0)) (local.set $s01 (v128.const i32x4 0 0 0 0))
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
        (call $qout (local.get $s00) (local.get $i) (local.get $j) (local.get $zc) (local.get $sc) (local.get $bias)
          (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi) (local.get $hs) (local.get $res))
        (call $qout (local.get $s01) (local.get $i) (i32.add (local.get $j) (i32.const 4)) (local.get $zc) (local.get $sc)
          (local.get $bias) (local.get $c) (local.get $ldc) (local.get $vlo) (local.get $vhi) (local.get $hs) (local.get $res))
        (local.set $j (i32.add (local.get $j) (i32.const 8)))
        (br $cols1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rows))))

  ;; Depthwise 3x3 on codes, stride 1 or 2: out[oy][ox][c] floats = epi(Σ_taps (x - zp) · w · scale
  ;; + bias). Taps outside the image are padding, whose code is zp: they add nothing and are
  ;; skipped. Weights: int8 [9][cs]. Widened to i16 and multiplied exactly (i32x4.extmul) in both
  ;; variants: per channel, no dot product applies.
  (func (export "qdw3x3") (param $in i32) (param $h i32) (param $w i32) (param $cs i32) (param $zp i32)
    (param $out i32) (param $oh i32) (param $ow i32) (param $stride i32) (param $pt i32) (param $pl i32)
    (param $wt i32) (param $sc i32) (param $bias i32) (param $lo f32) (param $hi f32) (param $hs i32)
    (local $oy i32) (local $ox i32) (local $c i32) (local $ky i32) (local $kx i32) (local $iy i32) (local $ix i32)
    (local $o i32) (local $row i32) (local $tap i32)
    (local $acc0 v128) (local $acc1 v128) (local $x v128) (local $wv v128)
    (local $vz v128) (local $vlo v128) (local $vhi v128)
    (local.set $vz (i16x8.splat (local.get $zp)))
    (local.set $vlo (f32x4.splat (local.get $lo)))
    (local.set $vhi (f32x4.splat (local.get $hi)))
    (local.set $o (local.get $out))
    (block $ydone (loop $ys
      (br_if $ydone (i32.ge_s (local.get $oy) (local.get $oh)))
      (local.set $ox (i32.const 0))
      (block $xdone (loop $xs
        (br_if $xdone (i32.ge_s (local.get $ox) (local.get $ow)))
        (local.set $c (i32.const 0))
        (block $cdone (loop $cl
          (br_if $cdone (i32.ge_s (local.get $c) (local.get $cs)))
          (local.set $acc0 (v128.const i32x4 0 0 0 0))
          (local.set $acc1 (v128.const i32x4 0 0 0 0))
          (local.set $ky (i32.const 0))
          (block $kydone (loop $kys
            (br_if $kydone (i32.ge_s (local.get $ky) (i32.const 3)))
            (local.set $iy (i32.add (i32.sub (i32.mul (local.get $oy) (local.get $stride)) (local.get $pt)) (local.get $ky)))
            (if (i32.lt_u (local.get $iy) (local.get $h))
              (then
                (local.set $row (i32.add (local.get $in) (i32.mul (i32.mul (local.get $iy) (local.get $w)) (local.get $cs))))
                (local.set $kx (i32.const 0))
                (block $kxdone (loop $kxs
                  (br_if $kxdone (i32.ge_s (local.get $kx) (i32.const 3)))
                  (local.set $ix (i32.add (i32.sub (i32.mul (local.get $ox) (local.get $stride)) (local.get $pl)) (local.get $kx)))
                  (if (i32.lt_u (local.get $ix) (local.get $w))
                    (then
                      (local.set $tap (i32.add (i32.mul (local.get $ky) (i32.const 3)) (local.get $kx)))
                      (local.set $x (i16x8.sub
                        (v128.load8x8_u (i32.add (i32.add (local.get $row) (i32.mul (local.get $ix) (local.get $cs))) (local.get $c)))
                        (local.get $vz)))
                      (local.set $wv (v128.load8x8_s
                        (i32.add (i32.add (local.get $wt) (i32.mul (local.get $tap) (local.get $cs))) (local.get $c))))
                      (local.set $acc0 (i32x4.add (local.get $acc0) (i32x4.extmul_low_i16x8_s (local.get $x) (local.get $wv))))
                      (local.set $acc1 (i32x4.add (local.get $acc1) (i32x4.extmul_high_i16x8_s (local.get $x) (local.get $wv))))))
                  (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
                  (br $kxs)))))
            (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
            (br $kys)))
          (v128.store (i32.add (local.get $o) (i32.shl (local.get $c) (i32.const 2)))
            (call $qepi (local.get $acc0) (v128.const i32x4 0 0 0 0)
              (v128.load (i32.add (local.get $sc) (i32.shl (local.get $c) (i32.const 2))))
              (v128.load (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2))))
              (local.get $vlo) (local.get $vhi) (local.get $hs)))
          (v128.store offset=16 (i32.add (local.get $o) (i32.shl (local.get $c) (i32.const 2)))
            (call $qepi (local.get $acc1) (v128.const i32x4 0 0 0 0)
              (v128.load offset=16 (i32.add (local.get $sc) (i32.shl (local.get $c) (i32.const 2))))
              (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $c) (i32.const 2))))
              (local.get $vlo) (local.get $vhi) (local.get $hs)))
          (local.set $c (i32.add (local.get $c) (i32.const 8)))
          (br $cl)))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $cs) (i32.const 2))))
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
    (local $iy i32) (local $ix i32) (local $d i32) (local $e i32)
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
          (if (i32.and (i32.lt_u (local.get $iy) (local.get $h)) (i32.lt_u (local.get $ix) (local.get $w)))
            (then (memory.copy (local.get $d)
              (i32.add (local.get $in) (i32.mul (i32.add (i32.mul (local.get $iy) (local.get $w)) (local.get $ix)) (local.get $cs)))
              (local.get $cin)))
            (else (memory.fill (local.get $d) (local.get $zp) (local.get $cin))))
          (local.set $d (i32.add (local.get $d) (local.get $cin)))
          (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
          (br $kxs)))
        (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
        (br $kys)))
      (memory.fill (local.get $d) (local.get $zp) (i32.sub (local.get $e) (local.get $d)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))
