//go:build goexperiment.simd && amd64

package textscan

import (
	"math/bits"
	"simd/archsimd"
	"unsafe"
)

// SIMDEscape reports whether EscapeBlocks runs its vector loop: built with GOEXPERIMENT=simd
// on amd64, on a CPU with AVX2.
var SIMDEscape = archsimd.X86.AVX2()

// escapeTables returns, for each 8-bit mask of the '"' and '\\' bytes of eight input bytes,
// the shuffle that spreads those bytes over sixteen with a gap before each marked byte
// (index -1 selects zero), for the low (lo) and high (hi) half of a 16-byte block, and the
// backslashes that fill the gaps (bs).
var escLo, escHi, escBS = func() (lo, hi, bs [256][16]int8) {
	for m := 0; m < 256; m++ {
		for j := range 16 {
			lo[m][j], hi[m][j] = -1, -1
		}
		j := 0
		for k := 0; k < 8; k++ {
			if m&(1<<k) != 0 {
				bs[m][j] = '\\'
				j++
			}
			lo[m][j], hi[m][j] = int8(k), int8(k+8)
			j++
		}
	}
	return
}()

func escapeBlocks(dst []byte, s string) (int, int) {
	_ = dst[2*len(s)+15] // room, as EscapeBlocks requires
	quote := archsimd.BroadcastUint8x16('"')
	bslash := archsimd.BroadcastUint8x16('\\')
	lt := archsimd.BroadcastUint8x16('<')
	gt := archsimd.BroadcastUint8x16('>')
	amp := archsimd.BroadcastUint8x16('&')
	e2 := archsimd.BroadcastUint8x16(0xE2)
	ctl := archsimd.BroadcastUint8x16(0x1F)
	p := unsafe.StringData(s)
	d := unsafe.Pointer(unsafe.SliceData(dst))
	i, n := 0, 0
	for ; i+16 <= len(s); i += 16 {
		v := archsimd.LoadUint8x16((*[16]uint8)(unsafe.Add(unsafe.Pointer(p), i)))
		rare := v.Equal(lt).Or(v.Equal(gt)).Or(v.Equal(amp)).Or(v.Equal(e2)).Or(v.Min(ctl).Equal(v))
		if rare.ToBits() != 0 {
			break
		}
		m := v.Equal(quote).Or(v.Equal(bslash)).ToBits()
		out := (*[16]uint8)(unsafe.Add(d, n))
		if m == 0 {
			v.Store(out)
			n += 16
			continue
		}
		ml, mh := m&0xFF, m>>8
		v.PermuteOrZero(archsimd.LoadInt8x16(&escLo[ml])).Or(archsimd.LoadInt8x16(&escBS[ml]).AsUint8x16()).Store(out)
		n += 8 + bits.OnesCount8(uint8(ml))
		out = (*[16]uint8)(unsafe.Add(d, n))
		v.PermuteOrZero(archsimd.LoadInt8x16(&escHi[mh])).Or(archsimd.LoadInt8x16(&escBS[mh]).AsUint8x16()).Store(out)
		n += 8 + bits.OnesCount8(uint8(mh))
	}
	return i, n
}
