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

// escLo, escHi and escBS hold, for each 8-bit mask of the '"' and '\\' bytes of eight input bytes,
// the shuffle that spreads those bytes over sixteen with a gap before each marked byte
// (index -1 selects zero), for the low (lo) and high (hi) half of a 16-byte block, and the
// backslashes that fill the gaps (bs).
var escLo, escHi, escBS = shuffleTables(true)

// shuffleTables builds the byte shuffles of the low and high half of a 16-byte block for each
// 8-bit mask m of its eight bytes (index -1 selects zero). spread: every byte, with a gap
// before each marked one, and bs holds '\\' at the gaps; else only the marked bytes, packed
// to the front.
func shuffleTables(spread bool) (lo, hi, bs [256][16]int8) {
	for m := 0; m < 256; m++ {
		for j := range 16 {
			lo[m][j], hi[m][j] = -1, -1
		}
		j := 0
		for k := 0; k < 8; k++ {
			marked := m&(1<<k) != 0
			if spread && marked {
				bs[m][j] = '\\'
				j++
			}
			if spread || marked {
				lo[m][j], hi[m][j] = int8(k), int8(k+8)
				j++
			}
		}
	}
	return
}

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
	i, n := 0, 0
	for ; i+16 <= len(s); i += 16 {
		v := archsimd.LoadUint8x16((*[16]uint8)(unsafe.Add(unsafe.Pointer(p), i)))
		rare := v.Equal(lt).Or(v.Equal(gt)).Or(v.Equal(amp)).Or(v.Equal(e2)).Or(v.Min(ctl).Equal(v))
		if rare.ToBits() != 0 {
			break
		}
		m := v.Equal(quote).Or(v.Equal(bslash)).ToBits()
		out := (*[16]uint8)(dst[n : n+16])
		if m == 0 {
			v.Store(out)
			n += 16
			continue
		}
		ml, mh := m&0xFF, m>>8
		v.PermuteOrZero(archsimd.LoadInt8x16(&escLo[ml])).Or(archsimd.LoadInt8x16(&escBS[ml]).AsUint8x16()).Store(out)
		n += 8 + bits.OnesCount8(uint8(ml))
		out = (*[16]uint8)(dst[n : n+16])
		v.PermuteOrZero(archsimd.LoadInt8x16(&escHi[mh])).Or(archsimd.LoadInt8x16(&escBS[mh]).AsUint8x16()).Store(out)
		n += 8 + bits.OnesCount8(uint8(mh))
	}
	return i, n
}

// UTF-8 error classes of the Keiser–Lemire validator ("Validating UTF-8 in less than one
// instruction per byte", 2021, the lookup algorithm of simdjson): three table lookups on the
// nibbles of each byte and of the byte before it flag every two-byte pattern that cannot
// occur in valid UTF-8; the third and fourth bytes of long sequences are checked by
// comparing the bytes two and three back.
const (
	u8TooShort  = 1 << 0 // a lead byte or ASCII followed by a lead byte or ASCII where a continuation belongs
	u8TooLong   = 1 << 1 // ASCII followed by a continuation byte
	u8Overlong3 = 1 << 2 // E0 80..9F
	u8TooLarge  = 1 << 3 // F4 90..BF, F5..FF
	u8Surrogate = 1 << 4 // ED A0..BF
	u8Overlong2 = 1 << 5 // C0, C1
	u8TooLarge2 = 1 << 6 // F5..FF 80..8F
	u8Overlong4 = 1 << 6 // F0 80..8F
	u8TwoConts  = 1 << 7 // a continuation byte after a continuation byte (unless two or three back was a lead)
	u8Carry     = u8TooShort | u8TooLong | u8TwoConts
)

var (
	u8Byte1High = [16]uint8{
		u8TooLong, u8TooLong, u8TooLong, u8TooLong, u8TooLong, u8TooLong, u8TooLong, u8TooLong, // 0___
		u8TwoConts, u8TwoConts, u8TwoConts, u8TwoConts, // 10__
		u8TooShort | u8Overlong2,                            // 1100
		u8TooShort,                                          // 1101
		u8TooShort | u8Overlong3 | u8Surrogate,              // 1110
		u8TooShort | u8TooLarge | u8TooLarge2 | u8Overlong4, // 1111
	}
	u8Byte1Low = [16]uint8{
		u8Carry | u8Overlong3 | u8Overlong2 | u8Overlong4, // ____0000
		u8Carry | u8Overlong2,                             // ____0001
		u8Carry, u8Carry,
		u8Carry | u8TooLarge,               // ____0100
		u8Carry | u8TooLarge | u8TooLarge2, // ____0101
		u8Carry | u8TooLarge | u8TooLarge2, u8Carry | u8TooLarge | u8TooLarge2,
		u8Carry | u8TooLarge | u8TooLarge2, u8Carry | u8TooLarge | u8TooLarge2,
		u8Carry | u8TooLarge | u8TooLarge2, u8Carry | u8TooLarge | u8TooLarge2,
		u8Carry | u8TooLarge | u8TooLarge2,
		u8Carry | u8TooLarge | u8TooLarge2 | u8Surrogate, // ____1101
		u8Carry | u8TooLarge | u8TooLarge2, u8Carry | u8TooLarge | u8TooLarge2,
	}
	u8Byte2High = [16]uint8{
		u8TooShort, u8TooShort, u8TooShort, u8TooShort, u8TooShort, u8TooShort, u8TooShort, u8TooShort, // 0___
		u8TooLong | u8Overlong2 | u8TwoConts | u8Overlong3 | u8TooLarge2 | u8Overlong4, // 1000
		u8TooLong | u8Overlong2 | u8TwoConts | u8Overlong3 | u8TooLarge,                // 1001
		u8TooLong | u8Overlong2 | u8TwoConts | u8Surrogate | u8TooLarge,                // 101_
		u8TooLong | u8Overlong2 | u8TwoConts | u8Surrogate | u8TooLarge,
		u8TooShort, u8TooShort, u8TooShort, u8TooShort, // 11__
	}
)

// validUTF8 is utf8.Valid sixteen bytes at a time.
func validUTF8(b []byte) bool {
	t1 := archsimd.LoadUint8x16(&u8Byte1High)
	t2 := archsimd.LoadUint8x16(&u8Byte1Low)
	t3 := archsimd.LoadUint8x16(&u8Byte2High)
	low := archsimd.BroadcastUint8x16(0x0F)
	high := archsimd.BroadcastUint8x16(0x80)
	third := archsimd.BroadcastUint8x16(0xE0 - 0x80)
	fourth := archsimd.BroadcastUint8x16(0xF0 - 0x80)
	check := func(in, prev archsimd.Uint8x16) archsimd.Uint8x16 {
		prev1 := in.ConcatShiftBytesRight(15, prev)
		sc := t1.PermuteOrZero(prev1.AsUint16x8().ShiftAllRight(4).AsUint8x16().And(low).AsInt8x16()).
			And(t2.PermuteOrZero(prev1.And(low).AsInt8x16())).
			And(t3.PermuteOrZero(in.AsUint16x8().ShiftAllRight(4).AsUint8x16().And(low).AsInt8x16()))
		must := in.ConcatShiftBytesRight(14, prev).SubSaturated(third).
			Or(in.ConcatShiftBytesRight(13, prev).SubSaturated(fourth)).And(high)
		return must.Xor(sc)
	}
	var prev, bad archsimd.Uint8x16
	i := 0
	for ; i+16 <= len(b); i += 16 {
		in := archsimd.LoadUint8x16((*[16]uint8)(b[i : i+16]))
		bad = bad.Or(check(in, prev))
		prev = in
	}
	// the rest, padded with ASCII: a sequence cut at the end of b is followed by a byte that
	// is not a continuation, which the check flags
	var tail [16]uint8
	copy(tail[:], b[i:])
	bad = bad.Or(check(archsimd.LoadUint8x16(&tail), prev))
	return bad.IsZero()
}

// unLo and unHi hold, for each 8-bit mask of the bytes to keep of eight input bytes, the
// shuffle that packs them to the front, for the low (lo) and high (hi) half of a block.
var unLo, unHi, _ = shuffleTables(false)

// escapedBits returns the bits of the bytes of a 16-byte block that follow an escaping
// backslash (bs: the block's backslashes; *carry: whether the block's first byte is escaped,
// updated for the next block). A run of backslashes escapes every other byte from its start
// (simdjson's find_escaped_branchless, on 16 bits).
func escapedBits(bs uint32, carry *uint32) uint32 {
	const even = 0x5555
	bs &^= *carry
	follows := (bs<<1 | *carry) & 0xFFFF
	oddStarts := bs &^ even &^ follows
	sum := oddStarts + bs
	*carry = sum >> 16
	return (even ^ (sum<<1)&0xFFFF) & follows
}

func unescapeString(dst, src []byte) (int, int, bool, bool) {
	_ = dst[len(src)+15] // room, as UnescapeString requires
	quote := archsimd.BroadcastUint8x16('"')
	bslash := archsimd.BroadcastUint8x16('\\')
	slash := archsimd.BroadcastUint8x16('/')
	ctl := archsimd.BroadcastUint8x16(0x1F)
	var tail [16]uint8
	var carry uint32
	var high archsimd.Uint8x16 // OR of the blocks: bit 7 for a non-ASCII byte
	n := 0
	for i := 0; i < len(src); i += 16 {
		var v archsimd.Uint8x16
		if i+16 <= len(src) {
			v = archsimd.LoadUint8x16((*[16]uint8)(src[i : i+16]))
		} else {
			// the last bytes, padded with NULs: control characters, so a string that does not
			// end before them is not taken
			copy(tail[:], src[i:])
			v = archsimd.LoadUint8x16(&tail)
		}
		high = high.Or(v)
		q := uint32(v.Equal(quote).ToBits())
		bs := uint32(v.Equal(bslash).ToBits())
		c := uint32(v.Min(ctl).Equal(v).ToBits())
		out := (*[16]uint8)(dst[n : n+16])
		if bs|carry == 0 {
			if q == 0 {
				if c != 0 {
					return 0, 0, false, false
				}
				v.Store(out)
				n += 16
				continue
			}
			p := bits.TrailingZeros32(q)
			if c&(1<<p-1) != 0 {
				return 0, 0, false, false
			}
			v.Store(out)
			// (bytes after the quote in high: at worst a needless UTF-8 check)
			return i + p, n + p, high.AsInt8x16().Less(archsimd.Int8x16{}).ToBits() == 0, true
		}
		esc := escapedBits(bs, &carry)
		end := q &^ esc
		within := uint32(0xFFFF)
		if end != 0 {
			within = 1<<bits.TrailingZeros32(end) - 1
		}
		// a control character, or an escape other than \" \\ \/ (which need translating), is
		// left to the caller's scalar decoder
		if c&within != 0 || esc&within&^(q|bs|uint32(v.Equal(slash).ToBits())) != 0 {
			return 0, 0, false, false
		}
		keep := within &^ (bs &^ esc)
		kl, kh := keep&0xFF, keep>>8&0xFF
		v.PermuteOrZero(archsimd.LoadInt8x16(&unLo[kl])).Store(out)
		n += bits.OnesCount8(uint8(kl))
		v.PermuteOrZero(archsimd.LoadInt8x16(&unHi[kh])).Store((*[16]uint8)(dst[n : n+16]))
		n += bits.OnesCount8(uint8(kh))
		if end != 0 {
			return i + bits.TrailingZeros32(end), n, high.AsInt8x16().Less(archsimd.Int8x16{}).ToBits() == 0, true
		}
	}
	return 0, 0, false, false
}

func compactJSON(dst, src []byte) (int, bool) {
	_ = dst[len(src)+15] // room, as CompactJSON requires
	quote := archsimd.BroadcastUint8x16('"')
	bslash := archsimd.BroadcastUint8x16('\\')
	space := archsimd.BroadcastUint8x16(' ')
	tab := archsimd.BroadcastUint8x16('\t')
	nl := archsimd.BroadcastUint8x16('\n')
	cr := archsimd.BroadcastUint8x16('\r')
	lt := archsimd.BroadcastUint8x16('<')
	gt := archsimd.BroadcastUint8x16('>')
	amp := archsimd.BroadcastUint8x16('&')
	e2 := archsimd.BroadcastUint8x16(0xE2)
	var tail [16]uint8
	var carry, inStr uint32 // escape carried into the block; 0xFFFF when the block starts in a string
	n := 0
	for i := 0; i < len(src); i += 16 {
		var v archsimd.Uint8x16
		valid := uint32(0xFFFF)
		if i+16 <= len(src) {
			v = archsimd.LoadUint8x16((*[16]uint8)(src[i : i+16]))
		} else {
			copy(tail[:], src[i:])
			v = archsimd.LoadUint8x16(&tail)
			valid = 1<<(len(src)-i) - 1
		}
		if v.Equal(lt).Or(v.Equal(gt)).Or(v.Equal(amp)).ToBits() != 0 {
			return 0, false
		}
		if m := uint32(v.Equal(e2).ToBits()); m != 0 {
			for ; m != 0; m &= m - 1 { // U+2028 and U+2029 (E2 80 A8/A9) are escaped by the caller
				j := i + bits.TrailingZeros32(m)
				if j+2 < len(src) && src[j+1] == 0x80 && src[j+2]&0xFE == 0xA8 {
					return 0, false
				}
			}
		}
		bs := uint32(v.Equal(bslash).ToBits())
		q := uint32(v.Equal(quote).ToBits()) &^ escapedBits(bs, &carry)
		// inside a string: an odd number of quotes up to here (prefix XOR), the opening quote
		// included and the closing one not
		x := q
		x ^= x << 1
		x ^= x << 2
		x ^= x << 4
		x ^= x << 8
		x = (x ^ inStr) & 0xFFFF
		inStr = -(x >> 15) & 0xFFFF
		ws := uint32(v.Equal(space).Or(v.Equal(tab)).Or(v.Equal(nl)).Or(v.Equal(cr)).ToBits())
		keep := valid &^ (ws &^ x)
		kl, kh := keep&0xFF, keep>>8&0xFF
		v.PermuteOrZero(archsimd.LoadInt8x16(&unLo[kl])).Store((*[16]uint8)(dst[n : n+16]))
		n += bits.OnesCount8(uint8(kl))
		v.PermuteOrZero(archsimd.LoadInt8x16(&unHi[kh])).Store((*[16]uint8)(dst[n : n+16]))
		n += bits.OnesCount8(uint8(kh))
	}
	return n, true
}
