package bundle

import (
	"bytes"
	"encoding/json"
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
)

var encodeSeeds = []string{
	"", "plain", `quote " backslash \ slash /`, "<html>&amp;</html>", "\b\f\n\r\t\x00\x01\x1f\x7f",
	"Chloé ☃ 日本語 😀", "\u2028\u2029", "bad \xff\xfe utf8 \xc3", `{"k":[1,2,"x\"y"]}`,
}

// TestAppendRecordJSON: the hand encoder gives exactly json.Marshal's bytes.
func TestAppendRecordJSON(t *testing.T) {
	recs := []actingweb.Record{&actingweb.Actor{ID: "a", Creator: "c<&>", Passphrase: "p"}}
	for _, s := range encodeSeeds {
		recs = append(recs, &actingweb.Property{ID: s, Name: "n" + s, Value: s + s})
	}
	for _, r := range recs {
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendRecordJSON([]byte("prefix"), r)
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("%#v:\n got %s, %v\nwant prefix%s", r, got, err, want)
		}
	}
}

// FuzzAppendRecordJSON: any property encodes as json.Marshal encodes it.
func FuzzAppendRecordJSON(f *testing.F) {
	for _, s := range encodeSeeds {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		p := &actingweb.Property{ID: "id", Name: name, Value: value}
		want, _ := json.Marshal(p)
		got, _ := AppendRecordJSON(nil, p)
		if !bytes.Equal(got, want) {
			t.Fatalf("got %q want %q", got, want)
		}
	})
}
