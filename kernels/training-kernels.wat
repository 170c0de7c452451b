;; SIMD kernels for training on tfjs-backend-wasm (training/tf/kernels), working in place on
;; tfjs-wasm's own heap: the module imports that WebAssembly.Memory, so tensors are read and written
;; where they lie. All pointers and strides are byte offsets.
;;
;; Bit-identical to the shipped scalar kernels they replace: SIMD runs ACROSS output elements, each
;; lane doing exactly the scalar fp32 operations of its element in the shipped order (f32x4.mul and
;; f32x4.add round like f32.mul and f32.add; no FMA).
(module
  (import "env" "memory" (memory 1))

  ;; dst[r][c] = src[r·srs + c·scs] for r < rows, c < cols; dst rows are drs bytes apart.
  ;; Used to repack (and transpose) operands and results; it only moves values.
  (func (export "copy2d") (param $src i32) (param $srs i32) (param $scs i32)
    (param $dst i32) (param $drs i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $s i32) (local $d i32)
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $s (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $srs))))
        (local.set $d (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $drs))))
        (local.set $c (i32.const 0))
        (block $rowdone
          (loop $col
            (br_if $rowdone (i32.ge_u (local.get $c) (local.get $cols)))
            (f32.store (local.get $d) (f32.load (local.get $s)))
            (local.set $s (i32.add (local.get $s) (local.get $scs)))
            (local.set $d (i32.add (local.get $d) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $col)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $row))))

  ;; out[i][j] = Σ_k l[i][k]·r[k][j] in tfjs-wasm's slow_batch_matmul order: k in blocks of 48, each
  ;; block summed from 0 in k order, the block sums added to an output that starts at 0.
  ;; l is [rows][k] (rows a multiple of 4), r is [k][cols] and out [rows][cols] (cols a multiple
  ;; of 8); tiles of 4 rows × 8 columns keep 8 block sums in registers.
  (func (export "gemm") (param $l i32) (param $r i32) (param $out i32)
    (param $rows i32) (param $cols i32) (param $k i32)
    (local $i i32) (local $j i32) (local $kb i32) (local $ke i32) (local $kk i32)
    (local $lrow i32) (local $lp i32) (local $rp i32) (local $op i32) (local $cs i32) (local $ks i32)
    (local $b0 v128) (local $b1 v128) (local $a v128)
    (local $s00 v128) (local $s01 v128) (local $s10 v128) (local $s11 v128)
    (local $s20 v128) (local $s21 v128) (local $s30 v128) (local $s31 v128)
    (local.set $cs (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $ks (i32.shl (local.get $k) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0)
      (i32.mul (local.get $rows) (local.get $cs)))
    (block $idone
      (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $lrow (i32.add (local.get $l) (i32.mul (local.get $i) (local.get $ks))))
        (local.set $j (i32.const 0))
        (block $jdone
          (loop $jloop
            (br_if $jdone (i32.ge_u (local.get $j) (local.get $cols)))
            (local.set $op (i32.add (local.get $out)
              (i32.add (i32.mul (local.get $i) (local.get $cs)) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $kb (i32.const 0))
            (block $kbdone
              (loop $kbloop
                (br_if $kbdone (i32.ge_u (local.get $kb) (local.get $k)))
                (local.set $ke (select (local.get $k) (i32.add (local.get $kb) (i32.const 48))
                  (i32.lt_u (local.get $k) (i32.add (local.get $kb) (i32.const 48)))))
                (local.set $s00 (v128.const i32x4 0 0 0 0))
                (local.set $s01 (v128.const i32x4 0 0 0 0))
                (local.set $s10 (v128.const i32x4 0 0 0 0))
                (local.set $s11 (v128.const i32x4 0 0 0 0))
                (local.set $s20 (v128.const i32x4 0 0 0 0))
                (local.set $s21 (v128.const i32x4 0 0 0 0))
                (local.set $s30 (v128.const i32x4 0 0 0 0))
                (local.set $s31 (v128.const i32x4 0 0 0 0))
                (local.set $lp (i32.add (local.get $lrow) (i32.shl (local.get $kb) (i32.const 2))))
                (local.set $rp (i32.add (local.get $r)
                  (i32.add (i32.mul (local.get $kb) (local.get $cs)) (i32.shl (local.get $j) (i32.const 2)))))
                (local.set $kk (local.get $kb))
                (loop $kloop
                  (local.set $b0 (v128.load (local.get $rp)))
                  (local.set $b1 (v128.load offset=16 (local.get $rp)))
                  (local.set $a (v128.load32_splat (local.get $lp)))
                  (local.set $s00 (f32x4.add (local.get $s00) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $s01 (f32x4.add (local.get $s01) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat (i32.add (local.get $lp) (local.get $ks))))
                  (local.set $s10 (f32x4.add (local.get $s10) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $s11 (f32x4.add (local.get $s11) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat
                    (i32.add (local.get $lp) (i32.shl (local.get $ks) (i32.const 1)))))
                  (local.set $s20 (f32x4.add (local.get $s20) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $s21 (f32x4.add (local.get $s21) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $a (v128.load32_splat
                    (i32.add (local.get $lp) (i32.mul (local.get $ks) (i32.const 3)))))
                  (local.set $s30 (f32x4.add (local.get $s30) (f32x4.mul (local.get $a) (local.get $b0))))
                  (local.set $s31 (f32x4.add (local.get $s31) (f32x4.mul (local.get $a) (local.get $b1))))
                  (local.set $lp (i32.add (local.get $lp) (i32.const 4)))
                  (local.set $rp (i32.add (local.get $rp) (local.get $cs)))
                  (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                  (br_if $kloop (i32.lt_u (local.get $kk) (local.get $ke))))
                (call $acc2 (local.get $op) (local.get $s00) (local.get $s01))
                (call $acc2 (i32.add (local.get $op) (local.get $cs)) (local.get $s10) (local.get $s11))
                (call $acc2 (i32.add (local.get $op) (i32.shl (local.get $cs) (i32.const 1)))
                  (local.get $s20) (local.get $s21))
                (call $acc2 (i32.add (local.get $op) (i32.mul (local.get $cs) (i32.const 3)))
                  (local.get $s30) (local.get $s31))
                (local.set $kb (local.get $ke))
                (br $kbloop)))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $jloop)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $iloop))))

  ;; Adds two block sums to the 8 output floats at $p.
  (func $acc2 (param $p i32) (param $x v128) (param $y v128)
    (v128.store (local.get $p) (f32x4.add (v128.load (local.get $p)) (local.get $x)))
    (v128.store offset=16 (local.get $p) (f32x4.add (v128.load offset=16 (local.get $p)) (local.get $y))))

  ;; out[c] = Σ_r x[r][c] for an [rows][cols] x, r in order from 0 (tfjs-wasm's Sum after it has
  ;; transposed the reduced axes last); then, when $div != 0, out[c] = out[c] / rows (its Mean).
  ;; Rows outer so each row is read once; the running sums stay in out (in L1 for the widths here).
  (func (export "sumRows") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32)
    (param $div i32)
    (local $r i32) (local $c i32) (local $p i32) (local $q i32) (local $vec i32) (local $n v128)
    (local.set $vec (i32.and (local.get $cols) (i32.const -4)))
    (memory.fill (local.get $out) (i32.const 0) (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $p (local.get $x))
    (block $rdone
      (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $q (local.get $out))
        (local.set $c (i32.const 0))
        (block $vdone
          (loop $vloop
            (br_if $vdone (i32.ge_u (local.get $c) (local.get $vec)))
            (v128.store (local.get $q) (f32x4.add (v128.load (local.get $q)) (v128.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $vloop)))
        (block $tdone
          (loop $tloop
            (br_if $tdone (i32.ge_u (local.get $c) (local.get $cols)))
            (f32.store (local.get $q) (f32.add (f32.load (local.get $q)) (f32.load (local.get $p))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $tloop)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rloop)))
    (if (local.get $div)
      (then
        (local.set $n (f32x4.splat (f32.convert_i32_u (local.get $rows))))
        (local.set $q (local.get $out))
        (local.set $c (i32.const 0))
        (block $ddone
          (loop $dloop
            (br_if $ddone (i32.ge_u (local.get $c) (local.get $vec)))
            (v128.store (local.get $q) (f32x4.div (v128.load (local.get $q)) (local.get $n)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $c (i32.add (local.get $c) (i32.const 4)))
            (br $dloop)))
        (block $d1done
          (loop $d1loop
            (br_if $d1done (i32.ge_u (local.get $c) (local.get $cols)))
            (f32.store (local.get $q) (f32.div (f32.load (local.get $q)) (f32x4.extract_lane 0 (local.get $n))))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))
            (br $d1loop))))))
)
