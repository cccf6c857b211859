package jsonscan

// Kind is the kind of a Token.
type Kind uint8

const (
	// End: the value is complete (Start and End are the index after it; whatever follows,
	// whitespace included, is not read).
	End Kind = iota
	ObjectStart
	ObjectEnd
	ArrayStart
	ArrayEnd
	Key // an object member's key (a string literal); its ':' is read with it
	String
	Number
	True
	False
	Null
)

// Token is one token of a JSON value: s[Start:End] is its text (a string with its quotes,
// a key without its ':').
type Token struct {
	Kind       Kind
	Flags      Flags // String and Key: what the string holds; Number: Float
	Start, End int
}

// The states of a Scanner: what the grammar expects next.
const (
	stValue     = iota // a value
	stFirstKey         // after '{': a key or '}'
	stFirstElem        // after '[': a value or ']'
	stAfter            // after a value: ',', the closing bracket, or the end
)

// Scanner reads one JSON value token by token, checking its grammar (RFC 8259, whitespace
// between tokens allowed) in its Mode, and nesting up to a depth limit. It keeps the kinds
// of the open containers one bit each (64 levels in the Scanner, more in a slice grown when
// needed), so a Scanner declared as a local variable costs no allocation.
type Scanner[T Text] struct {
	s     T
	pos   int
	mode  Mode
	state uint8
	flags Flags
	nest
}

// nest is the stack of open containers: their kinds one bit each (64 levels inline, more in
// a slice grown when needed) and their number, limited to maxDepth.
type nest struct {
	depth    int
	maxDepth int
	objs     uint64   // bit d: container d (0-based) is an object
	deep     []uint64 // bits of containers 64 and deeper
}

// NewScanner returns a Scanner of the value starting at s[pos] (after whitespace) in mode m,
// refusing nesting deeper than maxDepth containers with ErrDepth.
func NewScanner[T Text](s T, pos int, m Mode, maxDepth int) Scanner[T] {
	return Scanner[T]{s: s, pos: pos, mode: m, nest: nest{maxDepth: maxDepth}}
}

// Pos returns the index after the last token read.
func (sc *Scanner[T]) Pos() int { return sc.pos }

// Flags returns the flags of all strings read so far, or-ed together.
func (sc *Scanner[T]) Flags() Flags { return sc.flags }

// Next reads the next token. Errors are a *SyntaxError (the scanner is then stuck on it) or
// ErrDepth. After the value's last token it returns End, again and again.
func (sc *Scanner[T]) Next() (Token, error) {
	s := sc.s
	i := Space(s, sc.pos)
	switch sc.state {
	case stAfter:
		if sc.depth == 0 {
			return Token{Kind: End, Start: sc.pos, End: sc.pos}, nil
		}
		if i >= len(s) {
			return Token{}, syntaxErr(i, "unexpected end of text")
		}
		obj := sc.top()
		switch c := s[i]; {
		case c == ',':
			if i = Space(s, i+1); obj {
				return sc.key(i)
			}
			return sc.value(i)
		case c == '}' && obj:
			return sc.close(ObjectEnd, i), nil
		case c == ']' && !obj:
			return sc.close(ArrayEnd, i), nil
		}
		return Token{}, syntaxErr(i, "expected ',' or the end of the object or array")
	case stFirstKey:
		if i < len(s) && s[i] == '}' {
			return sc.close(ObjectEnd, i), nil
		}
		return sc.key(i)
	case stFirstElem:
		if i < len(s) && s[i] == ']' {
			return sc.close(ArrayEnd, i), nil
		}
	}
	return sc.value(i)
}

func (sc *Scanner[T]) close(k Kind, i int) Token {
	sc.depth--
	sc.state = stAfter
	sc.pos = i + 1
	return Token{Kind: k, Start: i, End: i + 1}
}

// top reports whether the innermost open container is an object.
func (n *nest) top() bool {
	d := n.depth - 1
	if d < 64 {
		return n.objs>>d&1 != 0
	}
	d -= 64
	return n.deep[d/64]>>(d%64)&1 != 0
}

// open pushes a container (an object when obj); false when that would exceed maxDepth.
func (n *nest) open(obj bool) bool {
	if n.depth >= n.maxDepth {
		return false
	}
	d := n.depth
	n.depth++
	var bit uint64
	if obj {
		bit = 1
	}
	if d < 64 {
		n.objs = n.objs&^(1<<d) | bit<<d
		return true
	}
	d -= 64
	if d/64 >= len(n.deep) {
		n.deep = append(n.deep, 0)
	}
	n.deep[d/64] = n.deep[d/64]&^(1<<(d%64)) | bit<<(d%64)
	return true
}

// key reads an object member's key at s[i] and the ':' after it.
func (sc *Scanner[T]) key(i int) (Token, error) {
	end, f := ScanString(sc.s, i, sc.mode)
	if end < 0 {
		if i >= len(sc.s) || sc.s[i] != '"' {
			return Token{}, syntaxErr(i, "expected a string (an object key)")
		}
		return Token{}, syntaxErr(i, "invalid string")
	}
	sc.flags |= f
	c := Space(sc.s, end)
	if c >= len(sc.s) || sc.s[c] != ':' {
		return Token{}, syntaxErr(c, "expected ':' after an object key")
	}
	sc.pos = c + 1
	sc.state = stValue
	return Token{Kind: Key, Flags: f, Start: i, End: end}, nil
}

// value reads the value (or the start of one) at s[i].
func (sc *Scanner[T]) value(i int) (Token, error) {
	s := sc.s
	if i >= len(s) {
		return Token{}, syntaxErr(i, "unexpected end of text")
	}
	t := Token{Start: i}
	switch c := s[i]; c {
	case '"':
		end, f := ScanString(s, i, sc.mode)
		if end < 0 {
			return Token{}, syntaxErr(i, "invalid string")
		}
		sc.flags |= f
		t.Kind, t.Flags, t.End = String, f, end
	case '{', '[':
		if !sc.open(c == '{') {
			return Token{}, ErrDepth
		}
		t.Kind, t.End = ObjectStart, i+1
		sc.state = stFirstKey
		if c == '[' {
			t.Kind, sc.state = ArrayStart, stFirstElem
		}
		sc.pos = i + 1
		return t, nil
	case 't':
		t.Kind, t.End = True, literal(s, i, "true")
	case 'f':
		t.Kind, t.End = False, literal(s, i, "false")
	case 'n':
		t.Kind, t.End = Null, literal(s, i, "null")
	default:
		t.Kind = Number
		t.End, t.Flags = scanNumber(s, i) // -1 for anything that is not a number either
	}
	if t.End < 0 {
		return Token{}, syntaxErr(i, "invalid value")
	}
	sc.pos = t.End
	sc.state = stAfter
	return t, nil
}
