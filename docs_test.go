package actingweb_test

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// storageModelDoc is the storage reference that section references in comments and documents
// point at.
const storageModelDoc = "docs/storage-model.md"

// sect is the section sign, spelled as an escape so that this file holds no reference itself.
const sect = "\u00a7"

var (
	// sectionRefRe matches a section reference: the section sign, an optional space and a
	// section number such as 3, 3.2 or 6.3a.
	sectionRefRe = regexp.MustCompile(sect + ` ?([0-9]+(?:\.[0-9]+[a-z]?)*)`)
	// headingNumberRe takes the section number that starts a heading's text ("3. DynamoDB",
	// "3.2 How ...", "6.3a ..."): the number, an optional dot, then a space or the end.
	headingNumberRe = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+[a-z]?)*)\.?(?:\s|$)`)
	// rfcRe and otherDocRe recognise references qualified by the text just before them:
	// "RFC 8259 <sect>8.1" is not ours; "docs/migration.md <sect>5" and
	// "[docs/migration.md](docs/migration.md) <sect>9" name a section of another document.
	rfcRe      = regexp.MustCompile(`(?i)\bRFC ?[0-9]+$`)
	otherDocRe = regexp.MustCompile(`([A-Za-z0-9_./-]+\.md)[\])]*$`)
)

// oldSpecName is the developers' specification file, which is not in the repository.
var oldSpecName = "data-model" + ".md"

// TestStorageModelReferences checks that every section reference in the repository's Go,
// SQL and shell files and Markdown documents names a heading of docs/storage-model.md, so a
// reader of a clone can follow it. A heading (# to ####) names section N when its text starts
// with N followed by a space or a dot. References qualified by another document
// ("docs/migration.md <sect>5") are checked against that document's headings, RFC references
// are skipped, and in a Markdown document that numbers its own sections (docs/migration.md) an
// unqualified reference names one of its own sections. Mentions of the developers' old
// specification file fail too: it is not part of the repository.
func TestStorageModelReferences(t *testing.T) {
	root := "."
	model := readHeadings(t, filepath.Join(root, storageModelDoc))
	if len(model) == 0 {
		t.Fatalf("%s has no numbered headings", storageModelDoc)
	}
	docs := map[string]map[string]bool{filepath.Clean(storageModelDoc): model}
	headingsOf := func(path string) map[string]bool {
		path = filepath.Clean(path)
		if h, ok := docs[path]; ok {
			return h
		}
		h := readHeadings(t, path)
		docs[path] = h
		return h
	}

	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" ||
				name == "node_modules" || name == "bench-results" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(name) {
		case ".go", ".sql", ".sh", ".md":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	refs := 0
	for _, path := range files {
		own := map[string]bool(nil) // the document's own numbered sections, if it has any
		if filepath.Ext(path) == ".md" && filepath.Clean(path) != filepath.Clean(storageModelDoc) {
			if h := headingsOf(path); len(h) > 0 {
				own = h
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, oldSpecName) {
				t.Errorf("%s:%d: mentions %s, which is not in the repository; cite %s instead",
					path, i+1, oldSpecName, storageModelDoc)
			}
			for _, m := range sectionRefRe.FindAllStringSubmatchIndex(line, -1) {
				num := line[m[2]:m[3]]
				// "6.3a" is a number; the "a" of "6.3and" is not.
				if last := num[len(num)-1]; last >= 'a' && last <= 'z' && m[3] < len(line) && isWordByte(line[m[3]]) {
					num = num[:len(num)-1]
				}
				before := strings.TrimRightFunc(line[:m[0]], unicode.IsSpace)
				if rfcRe.MatchString(before) {
					continue
				}
				refs++
				want, doc := model, storageModelDoc
				if q := otherDocRe.FindStringSubmatch(before); q != nil {
					p, ok := resolveDoc(root, path, q[1])
					if !ok && strings.HasSuffix(q[1], oldSpecName) {
						continue // reported above
					}
					if !ok {
						t.Errorf("%s:%d: %s%s refers to %s, which is not in the repository (cite %s)",
							path, i+1, sect, num, q[1], storageModelDoc)
						continue
					}
					want, doc = headingsOf(p), p
				} else if own != nil {
					want, doc = own, path
				}
				if !want[num] {
					t.Errorf("%s:%d: %s%s names no heading of %s", path, i+1, sect, num, doc)
				}
			}
		}
	}
	if refs == 0 {
		t.Fatalf("found no section references in %d files: the scan is broken", len(files))
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// resolveDoc finds the Markdown document name (as written in a reference) relative to the
// referring file, the repository root or docs/.
func resolveDoc(root, from, name string) (string, bool) {
	for _, p := range []string{
		filepath.Join(filepath.Dir(from), name),
		filepath.Join(root, name),
		filepath.Join(root, "docs", filepath.Base(name)),
	} {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
	}
	return "", false
}

// readHeadings returns the section numbers of the Markdown headings (# to ####, outside
// fenced code blocks) of the file at path.
func readHeadings(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]bool{}
	fenced := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		level := len(line) - len(strings.TrimLeft(line, "#"))
		if level < 1 || level > 4 || !strings.HasPrefix(line[level:], " ") {
			continue
		}
		if m := headingNumberRe.FindStringSubmatch(strings.TrimSpace(line[level:])); m != nil {
			out[m[1]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
