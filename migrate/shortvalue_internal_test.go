package migrate

import (
	"strings"
	"testing"
)

// TestShortValue: long differing values are cut for people, with their length; short ones are
// shown whole; a cut never splits a character.
func TestShortValue(t *testing.T) {
	if got := shortValue("abc"); got != "abc" {
		t.Errorf("short value: %q", got)
	}
	long := strings.Repeat("é", 150) // 300 bytes
	got := shortValue(long)
	if !strings.HasSuffix(got, "… (300 bytes)") || strings.Count(got, "é") != 100 {
		t.Errorf("long value: %q", got)
	}
}
