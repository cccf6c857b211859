package actingweb

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"

	"github.com/actingweb/actingweb-go/internal/jsonscan"
)

// This file holds the reflection-free canonicaliser behind CanonicalJSON. It reads the JSON
// text once, token by token (internal/jsonscan), and writes the canonical form straight into
// an output buffer: strings are decoded exactly as encoding/json decodes them and re-encoded
// exactly as json.Marshal encodes a Go string; plain integers are copied; other numbers go
// through big.Rat and canonicalNumber like canonicalJSONSlow; object members are written as
// they come and reordered only when their keys are not already in sort.Strings order without
// duplicates. canonicalJSONSlow (encoding/json decode into any + writeCanonical) stays the
// reference the tests compare against, and the fast path hands over to it for documents
// nested deeper than fastMaxDepth.

// fastMaxDepth is the nesting depth up to which the fast path works; deeper documents (which
// encoding/json limits at 10000 levels) are handed to canonicalJSONSlow.
const fastMaxDepth = 512

// errFastDeep makes canonicalJSONFast hand a document to canonicalJSONSlow.
var errFastDeep = errors.New("nesting too deep for the fast canonicaliser")

// canonMember is one object member while its object is being written: its decoded key (in
// canonState.keys) and the bytes `"key":value` it produced (in canonState.out).
type canonMember struct {
	keyOff, keyEnd int
	start, end     int
}

// canonState is the reusable working memory of one canonicalisation.
type canonState struct {
	in      []byte
	sc      jsonscan.Scanner[[]byte]
	out     []byte
	keys    []byte        // decoded keys of the objects being written (a stack)
	members []canonMember // members of the objects being written (a stack)
	tmp     []byte        // scratch for reordering one object's members
	num     big.Rat
}

var canonPool = sync.Pool{New: func() any { return new(canonState) }}

// canonicalJSONFast is CanonicalJSON's fast path. It returns errFastDeep when the document must
// go to canonicalJSONSlow, or an error wrapping ErrInvalid for text that is not JSON.
func canonicalJSONFast(raw []byte) ([]byte, error) {
	s := canonPool.Get().(*canonState)
	s.in, s.sc = raw, jsonscan.NewScanner(raw, 0, jsonscan.CheckUTF8|jsonscan.FindSpecial, fastMaxDepth)
	s.out, s.keys, s.members = s.out[:0], s.keys[:0], s.members[:0]
	t, err := s.sc.Next()
	if err != nil {
		err = fail(err)
	} else {
		err = s.value(t)
	}
	if err == nil && jsonscan.Space(raw, s.sc.Pos()) != len(raw) {
		err = fmt.Errorf("%w: JSON payload has trailing data", ErrInvalid)
	}
	var res []byte
	if err == nil {
		res = bytes.Clone(s.out)
	}
	s.in, s.sc = nil, jsonscan.Scanner[[]byte]{}
	if cap(s.out) <= 1<<20 && cap(s.tmp) <= 1<<20 {
		canonPool.Put(s)
	}
	return res, err
}

// fail turns an error of the scanner into canonicalJSONFast's.
func fail(err error) error {
	if err == jsonscan.ErrDepth {
		return errFastDeep
	}
	return fmt.Errorf("%w: JSON payload is not valid JSON: %v", ErrInvalid, err)
}

// value writes the canonical form of the value that starts with token t.
func (s *canonState) value(t jsonscan.Token) error {
	switch t.Kind {
	case jsonscan.ObjectStart:
		return s.object()
	case jsonscan.ArrayStart:
		return s.array()
	case jsonscan.String:
		s.str(t, false)
	case jsonscan.Number:
		return s.number(t)
	default: // true, false, null
		s.out = append(s.out, s.in[t.Start:t.End]...)
	}
	return nil
}

// number writes a JSON number: a plain integer as its digits ("-0" as "0"), anything with a
// fraction or exponent as canonicalNumber of its big.Rat value, as canonicalJSONSlow does.
func (s *canonState) number(t jsonscan.Token) error {
	text := s.in[t.Start:t.End]
	if t.Flags&jsonscan.Float == 0 {
		if string(text) == "-0" {
			text = text[1:]
		}
		s.out = append(s.out, text...)
		return nil
	}
	if _, ok := s.num.SetString(string(text)); !ok {
		return fmt.Errorf("%w: JSON number %q", ErrInvalid, text)
	}
	s.out = append(s.out, canonicalNumber(&s.num)...)
	return nil
}

// str writes the string token t re-encoded as json.Marshal encodes its decoding and, for a
// key, appends the decoding to s.keys. Decoding follows encoding/json: invalid UTF-8 bytes
// and unpaired surrogate escapes become U+FFFD, so the decoding is valid UTF-8.
func (s *canonState) str(t jsonscan.Token, key bool) {
	content := s.in[t.Start+1 : t.End-1]
	out := s.out
	switch {
	case t.Flags&(jsonscan.Escaped|jsonscan.Invalid|jsonscan.Special) == 0: // its own form
		out = append(out, s.in[t.Start:t.End]...)
		if key {
			s.keys = append(s.keys, content...)
		}
	case t.Flags&(jsonscan.Invalid|jsonscan.Special) == 0: // a decoding written as it is
		out = append(out, '"')
		n := len(out)
		out, _ = jsonscan.AppendUnquote(out, content, t.Flags) // the scanner checked the escapes
		if key {
			s.keys = append(s.keys, out[n:]...)
		}
		out = append(out, '"')
	default:
		off := len(s.keys)
		s.keys, _ = jsonscan.AppendUnquote(s.keys, content, t.Flags)
		out = jsonscan.AppendQuoteValid(out, s.keys[off:])
		if !key {
			s.keys = s.keys[:off]
		}
	}
	s.out = out
}

func (s *canonState) array() error {
	s.out = append(s.out, '[')
	for first := true; ; first = false {
		t, err := s.sc.Next()
		if err != nil {
			return fail(err)
		}
		if t.Kind == jsonscan.ArrayEnd {
			s.out = append(s.out, ']')
			return nil
		}
		if !first {
			s.out = append(s.out, ',')
		}
		if err := s.value(t); err != nil {
			return err
		}
	}
}

func (s *canonState) object() error {
	s.out = append(s.out, '{')
	keyBase, memBase, objStart := len(s.keys), len(s.members), len(s.out)
	for first := true; ; first = false {
		t, err := s.sc.Next()
		if err != nil {
			return fail(err)
		}
		if t.Kind == jsonscan.ObjectEnd {
			break
		}
		if !first {
			s.out = append(s.out, ',')
		}
		m := canonMember{keyOff: len(s.keys), start: len(s.out)}
		s.str(t, true)
		m.keyEnd = len(s.keys)
		s.out = append(s.out, ':')
		if t, err = s.sc.Next(); err != nil {
			return fail(err)
		}
		if err := s.value(t); err != nil {
			return err
		}
		m.end = len(s.out)
		s.members = append(s.members, m)
	}
	ms := s.members[memBase:]
	for i := 1; i < len(ms); i++ {
		if bytes.Compare(s.keys[ms[i-1].keyOff:ms[i-1].keyEnd], s.keys[ms[i].keyOff:ms[i].keyEnd]) >= 0 {
			s.reorder(ms, objStart)
			break
		}
	}
	s.out = append(s.out, '}')
	s.keys, s.members = s.keys[:keyBase], s.members[:memBase]
	return nil
}

// reorder rewrites the members of the object whose first member starts at s.out[objStart:]
// in sort.Strings order of their decoded keys, keeping only the last of duplicate keys (the
// encoding/json map semantics canonicalJSONSlow has).
func (s *canonState) reorder(ms []canonMember, objStart int) {
	s.tmp = append(s.tmp[:0], s.out[objStart:]...)
	keys := s.keys
	slices.SortStableFunc(ms, func(a, b canonMember) int {
		return bytes.Compare(keys[a.keyOff:a.keyEnd], keys[b.keyOff:b.keyEnd])
	})
	s.out = s.out[:objStart]
	first := true
	for i, m := range ms {
		if i+1 < len(ms) && bytes.Equal(keys[m.keyOff:m.keyEnd], keys[ms[i+1].keyOff:ms[i+1].keyEnd]) {
			continue // a later duplicate wins
		}
		if !first {
			s.out = append(s.out, ',')
		}
		first = false
		s.out = append(s.out, s.tmp[m.start-objStart:m.end-objStart]...)
	}
}
