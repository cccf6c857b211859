package actingweb

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFormatPynamoDBTime(t *testing.T) {
	oslo := time.FixedZone("CEST", 2*3600)
	cases := []struct {
		name string
		in   time.Time
		want string
	}{
		{"utc", time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC), "2025-01-15T10:30:00.000000+0000"},
		{"micros", time.Date(2025, 6, 1, 8, 51, 59, 198202000, time.UTC), "2025-06-01T08:51:59.198202+0000"},
		{"nanos-truncated", time.Date(2025, 6, 1, 8, 0, 0, 999999999, time.UTC), "2025-06-01T08:00:00.999999+0000"},
		{"converted-to-utc", time.Date(2025, 6, 1, 10, 0, 0, 1000, oslo), "2025-06-01T08:00:00.000001+0000"},
		{"year-below-1000-padded", time.Date(999, 12, 31, 23, 59, 59, 0, time.UTC), "0999-12-31T23:59:59.000000+0000"},
		{"year-1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00.000000+0000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := FormatPynamoDBTime(c.in)
			if got != c.want {
				t.Fatalf("FormatPynamoDBTime = %q, want %q", got, c.want)
			}
			if len(got) != 31 {
				t.Fatalf("length %d, want 31", len(got))
			}
			back, err := ParsePynamoDBTime(got)
			if err != nil {
				t.Fatalf("ParsePynamoDBTime(%q): %v", got, err)
			}
			if !back.Equal(NormalizeTime(c.in)) || back.Location() != time.UTC {
				t.Fatalf("round trip = %v (%v), want %v in UTC", back, back.Location(), NormalizeTime(c.in))
			}
		})
	}
}

func TestParsePynamoDBTimeRejects(t *testing.T) {
	bad := []string{
		"",
		"2025-01-15T10:30:00.000000+00:00", // isoformat with colon (32 chars)
		"2025-01-15T10:30:00.000000Z",      // Z suffix
		"2025-01-15T10:30:00+0000",         // no fraction
		"2025-01-15T10:30:00.000+0000",     // 3 digits
		"2025-01-15T10:30:00.0000000+000",  // 31 chars, shape wrong
		"2025-01-15T10:30:00.000000+0100",  // 31 chars, not the literal +0000
		"2025-01-15T10:30:00.000000-0000",  // 31 chars, not the literal +0000
		"2025-01-15 10:30:00.000000+0000",  // space instead of T
		"2025-13-15T10:30:00.000000+0000",  // month 13
		"2025-02-30T10:30:00.000000+0000",  // 30 February
		"2025-01-15T24:30:00.000000+0000",  // hour 24
		"999-12-31T23:59:59.000000+0000",   // unpadded year (30 chars)
		"2025-01-15T10:30:00.00000a+0000",  // non-digit fraction
		"+2025-01-15T10:30:00.00000+0000",  // sign
	}
	for _, s := range bad {
		t.Run(s, func(t *testing.T) {
			got, err := ParsePynamoDBTime(s)
			if err == nil {
				t.Fatalf("ParsePynamoDBTime(%q) = %v, want an error", s, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestParsePynamoDBTimeValues(t *testing.T) {
	got, err := ParsePynamoDBTime("0999-01-02T03:04:05.678901+0000")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(999, 1, 2, 3, 4, 5, 678901000, time.UTC); !got.Equal(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestPynamoDBTimeFixtureRoundTrip: every UTCDateTimeAttribute Python wrote to the fixture's
// DynamoDB tables parses and formats back to the identical text.
func TestPynamoDBTimeFixtureRoundTrip(t *testing.T) {
	fields := map[string][]string{
		"trusts.jsonl":                   {"created_at", "last_accessed", "capabilities_fetched_at"},
		"attributes.jsonl":               {"timestamp"},
		"subscriptiondiffs.jsonl":        {"timestamp"},
		"subscription_suspensions.jsonl": {"suspended_at"},
	}
	n := 0
	for file, names := range fields {
		f, err := os.Open(filepath.Join(fixtureDir, "dynamodb", file))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<22)
		for sc.Scan() {
			var item map[string]map[string]any
			if err := json.Unmarshal(sc.Bytes(), &item); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, name := range names {
				v, ok := item[name]["S"].(string)
				if !ok {
					continue
				}
				ts, err := ParsePynamoDBTime(v)
				if err != nil {
					t.Errorf("%s %s: %v", file, name, err)
					continue
				}
				if back := FormatPynamoDBTime(ts); back != v {
					t.Errorf("%s %s: %q formats back as %q", file, name, v, back)
				}
				if !strings.HasSuffix(v, "+0000") {
					t.Errorf("%s %s: %q", file, name, v)
				}
				n++
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n < 200 {
		t.Fatalf("only %d timestamps checked; fixture not read?", n)
	}
	t.Logf("%d fixture timestamps round-tripped", n)
}

func TestNormalizeTime(t *testing.T) {
	in := time.Date(2025, 6, 1, 10, 0, 0, 123456789, time.FixedZone("X", 3600))
	got := NormalizeTime(in)
	if got.Location() != time.UTC || got.Nanosecond() != 123456000 || got.Hour() != 9 {
		t.Fatalf("NormalizeTime = %v", got)
	}
}
