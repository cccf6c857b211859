package dynamodb

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/jsonscan"
)

// pyjson.go: Python's json.dumps form of attribute data, the one re-implementation of a
// Python serialiser in the project (PynamoDB's JSONAttribute stores it, §3.2). The JSON text
// is read by the kernel (internal/jsonscan, lenient like json.loads(strict=False)); this file
// only renders it.

// PythonJSON re-serialises the JSON document raw exactly as Python's json.dumps does with its
// defaults, which is what PynamoDB's JSONAttribute stores (§3.2): separators ", " and ": ",
// every character outside printable ASCII escaped as \uXXXX in lowercase hex (astral characters
// as surrogate pairs, lone surrogates kept), \" \\ \n \r \t \b \f as short escapes, object
// keys in the given order with the last value of a duplicate key kept at the key's first
// position, integers verbatim, other numbers as Python's float repr (1e-05, 1e+16, 100.0).
// It fails with an error wrapping actingweb.ErrInvalid on text that is not JSON (NaN,
// Infinity included) or a number outside the float64 range (Python would write Infinity).
// Raw control characters inside strings are accepted, as Python's non-strict parser does.
func PythonJSON(raw []byte) (string, error) {
	if !utf8.Valid(raw) {
		return "", fmt.Errorf("%w: JSON text is not valid UTF-8", actingweb.ErrInvalid)
	}
	w := pyPool.Get().(*pyWriter)
	defer w.release()
	if _, err := w.walk(string(raw), true, true); err != nil {
		return "", err
	}
	return string(w.out), nil
}

// jnode is a JSON document parseJSON accepted; writePython renders it.
type jnode struct{ src string }

// parseJSON checks that s is one JSON document (lenient: raw control characters in strings
// allowed) that PythonJSON can render; strict reports whether s is strict JSON (no raw
// control characters).
func parseJSON(s string, lenient bool) (*jnode, bool, error) {
	w := pyPool.Get().(*pyWriter)
	defer w.release()
	strict, err := w.walk(s, lenient, false)
	if err != nil {
		return nil, false, err
	}
	return &jnode{src: s}, strict, nil
}

// writePython writes v in Python's json.dumps form (see PythonJSON).
func writePython(b *strings.Builder, v *jnode) {
	w := pyPool.Get().(*pyWriter)
	defer w.release()
	if _, err := w.walk(v.src, true, true); err == nil { // parseJSON accepted v.src
		b.Write(w.out)
	}
}

// pyMaxDepth is the deepest nesting of a value parseJSON accepts (the top-level value is at
// depth 0).
const pyMaxDepth = 10000

// pyMember is one object member rendered in pyWriter.out: out[start:keyEnd] is its key,
// out[keyEnd+2:end] its value (after ": ").
type pyMember struct{ start, keyEnd, end int }

// pyWriter walks one JSON text and, when render is set, writes its json.dumps form to out.
type pyWriter struct {
	s       string
	sc      jsonscan.Scanner[string]
	render  bool
	out     []byte
	members []pyMember // members of the objects being written (a stack)
	order   []int      // scratch of dedupe
	winner  []int      // scratch of dedupe
	tmp     []byte     // scratch of dedupe
}

var pyPool = sync.Pool{New: func() any { return new(pyWriter) }}

func (w *pyWriter) release() {
	w.s, w.sc = "", jsonscan.Scanner[string]{}
	if cap(w.out) <= 1<<20 && cap(w.tmp) <= 1<<20 {
		pyPool.Put(w)
	}
}

func (w *pyWriter) errf(off int, format string, a ...any) error {
	return fmt.Errorf("%w: JSON text at offset %d: %s", actingweb.ErrInvalid, off, fmt.Sprintf(format, a...))
}

// walk reads s (lenient: as json.loads(strict=False) does) and, with render, writes its
// json.dumps form to w.out. strict reports whether s has no raw control characters.
func (w *pyWriter) walk(s string, lenient, render bool) (strict bool, err error) {
	mode := jsonscan.CheckUTF8
	if lenient {
		mode |= jsonscan.Lenient
	}
	w.s, w.sc, w.render = s, jsonscan.NewScanner(s, 0, mode, pyMaxDepth+1), render
	w.out, w.members = w.out[:0], w.members[:0]
	t, err := w.next()
	if err == nil {
		err = w.value(t, 0)
	}
	if err == nil {
		if i := jsonscan.Space(s, w.sc.Pos()); i < len(s) {
			err = w.errf(i, "trailing data")
		}
	}
	return w.sc.Flags()&jsonscan.Control == 0, err
}

// next reads the next token, naming what Python rejects.
func (w *pyWriter) next() (jsonscan.Token, error) {
	t, err := w.sc.Next()
	if err == nil {
		return t, nil
	}
	var se *jsonscan.SyntaxError
	if !errors.As(err, &se) {
		return t, w.errf(w.sc.Pos(), "nested too deeply")
	}
	for _, bad := range []string{"NaN", "Infinity", "-Infinity"} {
		if strings.HasPrefix(w.s[se.Offset:], bad) {
			return t, w.errf(se.Offset, "%s is not JSON (Python's non-standard token)", bad)
		}
	}
	return t, w.errf(se.Offset, "%s", se.Msg)
}

// value reads (and renders) the value that starts with token t, at nesting depth depth.
func (w *pyWriter) value(t jsonscan.Token, depth int) error {
	if depth > pyMaxDepth {
		return w.errf(t.Start, "nested too deeply")
	}
	switch t.Kind {
	case jsonscan.ObjectStart:
		return w.object(depth)
	case jsonscan.ArrayStart:
		return w.array(depth)
	case jsonscan.String:
		return w.str(t)
	case jsonscan.Number:
		return w.number(t)
	}
	if w.render { // true, false, null
		w.out = append(w.out, w.s[t.Start:t.End]...)
	}
	return nil
}

func (w *pyWriter) array(depth int) error {
	w.put("[")
	for first := true; ; first = false {
		t, err := w.next()
		if err != nil {
			return err
		}
		if t.Kind == jsonscan.ArrayEnd {
			w.put("]")
			return nil
		}
		if !first {
			w.put(", ")
		}
		if err := w.value(t, depth+1); err != nil {
			return err
		}
	}
}

func (w *pyWriter) object(depth int) error {
	w.put("{")
	base := len(w.members)
	for first := true; ; first = false {
		t, err := w.next()
		if err != nil {
			return err
		}
		if t.Kind == jsonscan.ObjectEnd {
			break
		}
		if !first {
			w.put(", ")
		}
		m := pyMember{start: len(w.out)}
		if err := w.str(t); err != nil {
			return err
		}
		m.keyEnd = len(w.out)
		w.put(": ")
		if t, err = w.next(); err != nil {
			return err
		}
		if err := w.value(t, depth+1); err != nil {
			return err
		}
		if w.render {
			m.end = len(w.out)
			w.members = append(w.members, m)
		}
	}
	if len(w.members)-base > 1 {
		w.dedupe(w.members[base:])
	}
	w.members = w.members[:base]
	w.put("}")
	return nil
}

// dedupe rewrites the members ms of the object being written when keys repeat, as a Python
// dict keeps them: each key once, at its first position, with the value of its last member.
func (w *pyWriter) dedupe(ms []pyMember) {
	out := w.out
	key := func(k int) []byte { return out[ms[k].start:ms[k].keyEnd] }
	w.order = w.order[:0]
	for k := range ms {
		w.order = append(w.order, k)
	}
	slices.SortStableFunc(w.order, func(a, b int) int { return bytes.Compare(key(a), key(b)) })
	dup := false
	for k := 1; k < len(w.order) && !dup; k++ {
		dup = bytes.Equal(key(w.order[k-1]), key(w.order[k]))
	}
	if !dup {
		return
	}
	// winner[k]: the member whose value goes at member k's place, -1 when k is a repeat
	w.winner = slices.Grow(w.winner[:0], len(ms))[:len(ms)]
	for g := 0; g < len(w.order); {
		e := g + 1
		for e < len(w.order) && bytes.Equal(key(w.order[g]), key(w.order[e])) {
			w.winner[w.order[e]] = -1
			e++
		}
		w.winner[w.order[g]] = w.order[e-1] // stable sort: first and last in text order
		g = e
	}
	start := ms[0].start
	w.tmp = append(w.tmp[:0], out[start:]...)
	w.out = out[:start]
	for k, win := range w.winner {
		if win < 0 {
			continue
		}
		if len(w.out) > start {
			w.put(", ")
		}
		w.out = append(w.out, w.tmp[ms[k].start-start:ms[k].keyEnd-start]...)
		w.put(": ")
		w.out = append(w.out, w.tmp[ms[win].keyEnd+2-start:ms[win].end-start]...)
	}
}

func (w *pyWriter) put(s string) {
	if w.render {
		w.out = append(w.out, s...)
	}
}

// number checks (and renders) a number as Python would write it after json.loads: an integer
// as its digits ("-0" as "0"), any other number as its float repr.
func (w *pyWriter) number(t jsonscan.Token) error {
	text := w.s[t.Start:t.End]
	if t.Flags&jsonscan.Float == 0 {
		if text == "-0" {
			text = "0"
		}
		w.put(text)
		return nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return w.errf(t.Start, "number %s is outside the float64 range (Python would store Infinity)", text)
	}
	w.put(pythonFloatRepr(f))
	return nil
}

// pythonFloatRepr is Python's repr(float): shortest round-trip digits, exponent form when the
// decimal exponent is below -4 or at least 16, else fixed form with at least one decimal.
func pythonFloatRepr(f float64) string {
	e := strconv.FormatFloat(f, 'e', -1, 64) // e.g. "1.5e+16", "-1e-05", "0e+00"
	_, expText, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 16 {
		return e
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}

// pyPlain marks the bytes Python's ensure_ascii encoder writes as they are: printable ASCII
// but '"' and '\\'.
var pyPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str checks (and renders) the string token t in Python's ensure_ascii form.
func (w *pyWriter) str(t jsonscan.Token) error {
	if t.Flags&jsonscan.Invalid != 0 {
		return w.errf(t.Start, "invalid UTF-8")
	}
	if !w.render {
		return nil
	}
	s, out := w.s[t.Start+1:t.End-1], append(w.out, '"')
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && pyPlain[s[j]] {
			j++
		}
		out = append(out, s[i:j]...)
		if i = j; i >= len(s) {
			break
		}
		switch c := s[i]; {
		case c == '\\':
			r, end := jsonscan.Escape(s, i) // lone surrogates are kept, as Python does
			out = appendPyRune(out, r)
			i = end
		case c < utf8.RuneSelf: // a raw control character (lenient) or DEL
			out = appendPyRune(out, rune(c))
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			out = appendPyRune(out, r)
			i += n
		}
	}
	w.out = append(out, '"')
	return nil
}

const hexDigits = "0123456789abcdef"

func appendU(b []byte, u rune) []byte {
	return append(b, '\\', 'u', hexDigits[u>>12&0xf], hexDigits[u>>8&0xf], hexDigits[u>>4&0xf], hexDigits[u&0xf])
}

// appendPyRune appends one code point as Python's ensure_ascii encoder writes it.
func appendPyRune(b []byte, r rune) []byte {
	switch r {
	case '"':
		return append(b, `\"`...)
	case '\\':
		return append(b, `\\`...)
	case '\n':
		return append(b, `\n`...)
	case '\r':
		return append(b, `\r`...)
	case '\t':
		return append(b, `\t`...)
	case '\b':
		return append(b, `\b`...)
	case '\f':
		return append(b, `\f`...)
	}
	switch {
	case r >= 0x20 && r <= 0x7e:
		return append(b, byte(r))
	case r >= 0x10000:
		r -= 0x10000
		return appendU(appendU(b, 0xD800+(r>>10&0x3ff)), 0xDC00+(r&0x3ff))
	}
	return appendU(b, r)
}
