package postgres

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// The one-pass checks of check.go against the reference implementations they replaced.

// textRef is checker.text before textOK: IndexByte + ValidString + RuneCount.
func textRef(c *checker, col, v string, max int) {
	if strings.IndexByte(v, 0) >= 0 {
		c.fail("%s contains a NUL character (PostgreSQL text cannot hold U+0000)", col)
	}
	if !utf8.ValidString(v) {
		c.fail("%s is not valid UTF-8", col)
		return
	}
	if max > 0 && len(v) > max {
		if n := utf8.RuneCountInString(v); n > max {
			c.fail("%s is %d characters long, the column is varchar(%d)", col, n, max)
		}
	}
}

func checkText(t *testing.T, v string) {
	t.Helper()
	for _, max := range []int{0, 3, 255} {
		var got, want checker
		got.text("c", v, max)
		textRef(&want, "c", v, max)
		if strings.Join(got.reasons, ";") != strings.Join(want.reasons, ";") {
			t.Fatalf("text(%q, %d) = %q, reference %q", v, max, got.reasons, want.reasons)
		}
	}
	if ok := strings.IndexByte(v, 0) < 0 && utf8.ValidString(v); textOK(v) != ok {
		t.Fatalf("textOK(%q) = %v", v, !ok)
	}
}

func checkJSONB(t *testing.T, raw []byte) {
	t.Helper()
	want := jsonbProblemSlow(raw)
	deep := strings.Count(string(raw), "[")+strings.Count(string(raw), "{") > jsonbMaxDepth
	if ok := jsonbOK(raw); ok != (want == "") && !(deep && !ok) { // too deep: the slow path decides
		t.Fatalf("jsonbOK(%q) = %v, slow check says %q", raw, ok, want)
	}
	if got := jsonbProblem(raw); got != want {
		t.Fatalf("jsonbProblem(%q) = %q, slow check says %q", raw, got, want)
	}
}

var textSeeds = []string{
	"", "a", "a@example.com", strings.Repeat("x", 15), strings.Repeat("x", 16), strings.Repeat("x", 17) + "\x00",
	strings.Repeat("y", 31) + "é", "\x00", "abc\x00def", strings.Repeat("a", 40) + "\x00" + strings.Repeat("b", 9),
	"\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", "\x80", "\xff" + strings.Repeat("z", 20),
	"ünïcødé " + strings.Repeat("é", 300), "\xed\xa0\x80", "\xc3", "🚀 résumé",
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01",
	"\x81\x81\x81\x81\x81\x81\x81\x81\x00\x00\x00\x00\x00\x00\x00\x00",
	// long enough after the first non-ASCII block for the vector check of the rest
	strings.Repeat("a", 20) + "é" + strings.Repeat("b", 70), strings.Repeat("a", 20) + "é" + strings.Repeat("b", 70) + "\x00",
	strings.Repeat("a", 20) + "é" + strings.Repeat("b", 70) + "\xff", strings.Repeat("a", 17) + "\xe2\x82" + strings.Repeat("c", 80),
	strings.Repeat("a", 16) + "\x00" + strings.Repeat("d", 80),
}

var jsonbSeeds = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e+10`, `true`, `false`, `null`, ` null `, `{"a": [1, 2.50, null]}`,
	`{"a":1,"b":{"c":[true,false,"x\"y\\z\/\b\f\n\r\t"]}}`, "\t[ 1 , 2 ]\r\n", `[1,]`, `{"a":1,}`, `{"a"}`, `{1:2}`,
	`[`, `]`, `{`, `"abc`, `"\u0000"`, `"\u0041\u00e9"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83d\u0041"`,
	`"\ud83dx"`, `"\ud83d\ud83d"`, `"\uDBFF\uDFFF"`, `"\u12"`, `"\u12G4"`, `"\x"`, "\"a\tb\"", "\"\x7f\"", `01`, `-`, `1.`,
	`.5`, `1e`, `1e+`, `+1`, `NaN`, `Infinity`, `-Infinity`, `nul`, `truex`, `1 2`, `[] []`, "\"\xff\"", "[\"a\"]\xff",
	"\xef\xbb\xbf{}", `"é 🚀"`, "\"\xed\xa0\x80\"", strings.Repeat("[", 600) + strings.Repeat("]", 600),
	strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100), `[[[]],[{}],{"":""}]`, `"\\"`, `"\\u0000"`,
	`["\u0000", "\ud800"]`, "", " ", `{"a" : 1 , "b" : [ ] }`,
}

// upstreamPayloads returns the attribute payloads of the upstream seed data (real data
// written by upstream ActingWeb into DynamoDB Local, where data is a JSON string).
func upstreamPayloads(t testing.TB) [][]byte {
	return payloadsOf(t, "../testdata/upstream-seed1/dynamodb/attributes.jsonl", func(line []byte) []byte {
		var row struct {
			Data struct{ S *string } `json:"data"`
		}
		if json.Unmarshal(line, &row) != nil || row.Data.S == nil {
			return nil
		}
		return []byte(*row.Data.S)
	})
}

// bundlePayloads returns the attribute payloads of a bundle file (canonical records).
func bundlePayloads(t testing.TB, path string) [][]byte {
	return payloadsOf(t, path, func(line []byte) []byte {
		var row struct {
			Data json.RawMessage `json:"data"`
		}
		if json.Unmarshal(line, &row) != nil {
			return nil
		}
		return row.Data
	})
}

func payloadsOf(t testing.TB, path string, data func([]byte) []byte) [][]byte {
	f, err := os.Open(path)
	if err != nil {
		t.Logf("no seed data: %v", err)
		return nil
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		if d := data(sc.Bytes()); d != nil {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no payloads", path)
	}
	return out
}

func TestTextCheckMatchesReference(t *testing.T) {
	for _, v := range textSeeds {
		checkText(t, v)
		for i := 0; i <= len(v); i++ { // every shift against the 16-byte blocks
			checkText(t, strings.Repeat("q", i)+v)
		}
	}
}

func TestJSONBOKMatchesReference(t *testing.T) {
	for _, v := range jsonbSeeds {
		checkJSONB(t, []byte(v))
	}
	for _, p := range upstreamPayloads(t) {
		checkJSONB(t, p)
		if jsonbProblem(p) != "" {
			t.Errorf("upstream payload refused: %s", jsonbProblem(p))
		}
	}
}

// FuzzTextCheck: go test -run '^$' -fuzz FuzzTextCheck ./postgres/
func FuzzTextCheck(f *testing.F) {
	for _, v := range textSeeds {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) { checkText(t, v) })
}

// FuzzJSONBOK: go test -run '^$' -fuzz FuzzJSONBOK ./postgres/
func FuzzJSONBOK(f *testing.F) {
	for _, v := range jsonbSeeds {
		f.Add([]byte(v))
	}
	for _, p := range upstreamPayloads(f) {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkJSONB(t, raw) })
}

// BenchmarkJSONBProblem uses the bench bundle's payloads when AW_BENCH_BUNDLE names one.
func BenchmarkJSONBProblem(b *testing.B) {
	ps := upstreamPayloads(b)
	if dir := os.Getenv("AW_BENCH_BUNDLE"); dir != "" {
		ps = bundlePayloads(b, dir+"/attributes.jsonl")
	}
	if len(ps) == 0 {
		b.Skip("no payloads")
	}
	n := 0
	for _, p := range ps {
		n += len(p)
	}
	b.SetBytes(int64(n))
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			for _, p := range ps {
				jsonbProblem(p)
			}
		}
	})
	b.Run("slow", func(b *testing.B) {
		for b.Loop() {
			for _, p := range ps {
				jsonbProblemSlow(p)
			}
		}
	})
}

// BenchmarkTextOK: ASCII text of 32 and 1,024 bytes (primary keys are 32 hex digits in the
// bench data set), and non-ASCII text.
func BenchmarkTextOK(b *testing.B) {
	for _, v := range []string{strings.Repeat("0123456789abcdef", 2), strings.Repeat("0123456789abcdef", 64),
		strings.Repeat("é", 16), strings.Repeat("é", 512)} {
		b.Run(fmt.Sprintf("%s-%d", map[bool]string{true: "ascii", false: "utf8"}[v[0] < 0x80], len(v)), func(b *testing.B) {
			for b.Loop() {
				textOK(v)
			}
		})
	}
}

// BenchmarkTextCheck: property values of the bench bundle (AW_BENCH_BUNDLE) or the seeds.
func BenchmarkTextCheck(b *testing.B) {
	vals := textSeeds
	if dir := os.Getenv("AW_BENCH_BUNDLE"); dir != "" {
		vals = nil
		for _, p := range payloadsOf(b, dir+"/properties.jsonl", func(line []byte) []byte {
			var row struct{ Value string }
			if json.Unmarshal(line, &row) != nil {
				return nil
			}
			return []byte(row.Value)
		}) {
			vals = append(vals, string(p))
		}
	}
	b.Run("one-pass", func(b *testing.B) {
		for b.Loop() {
			var c checker
			for _, v := range vals {
				c.text("value", v, 0)
			}
		}
	})
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			var c checker
			for _, v := range vals {
				textRef(&c, "value", v, 0)
			}
		}
	})
}
