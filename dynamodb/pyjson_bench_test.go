package dynamodb

import (
	"testing"

	actingweb "github.com/actingweb/actingweb-go"
	"github.com/actingweb/actingweb-go/internal/benchdata"
)

// benchPayloads returns the attribute payloads of the whole-run bench data set for 50 actors
// (500 JSON objects of 100 to 800 bytes, encoding/json form) and their json.dumps forms.
func benchPayloads(b *testing.B) (goForm [][]byte, pyForm []string) {
	b.Helper()
	err := benchdata.Default(0.0025).Table(actingweb.TableAttributes, func(r actingweb.Record) error {
		data := r.(*actingweb.Attribute).Data
		py, err := PythonJSON(data)
		goForm, pyForm = append(goForm, data), append(pyForm, py)
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return goForm, pyForm
}

// BenchmarkPythonJSON renders the payloads as PynamoDB stores them (the DynamoDB write path).
func BenchmarkPythonJSON(b *testing.B) {
	docs, _ := benchPayloads(b)
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			if _, err := PythonJSON(d); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkReadJSONText reads stored json.dumps text back (the DynamoDB read path): strict
// JSON, kept verbatim.
func BenchmarkReadJSONText(b *testing.B) {
	_, docs := benchPayloads(b)
	size := 0
	for _, d := range docs {
		size += len(d)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, d := range docs {
			if _, err := readJSONText(d); err != nil {
				b.Fatal(err)
			}
		}
	}
}
