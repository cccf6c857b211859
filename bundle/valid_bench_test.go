package bundle

import (
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

// BenchmarkPropertyValueEscape measures the string encoders on the property values of the
// bench data set (JSON text dense in quotes and non-ASCII letters): jsonscan.AppendQuote, which
// checks UTF-8, and jsonscan.AppendQuoteValid for text known to be valid (appendStr):
// go test ./bundle -run '^$' -bench PropertyValueEscape
func BenchmarkPropertyValueEscape(b *testing.B) {
	recs, _, _ := benchDataLines(b, actingweb.TableProperties)
	var n int64
	for _, r := range recs {
		n += int64(len(r.(*actingweb.Property).Value))
	}
	for _, valid := range []bool{false, true} {
		name := "checked"
		if valid {
			name = "valid"
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(n)
			var buf []byte
			for b.Loop() {
				for _, r := range recs {
					buf = appendStr(buf[:0], valid, r.(*actingweb.Property).Value)
				}
			}
		})
	}
}
