// Package compat holds the compatibility tests of actingweb-go against data the Python
// ActingWeb 3.14.0 library really wrote (testdata/upstream-seed1): the read direction (upstream's
// raw rows and items loaded into each backend, read back through the Go store and compared with
// upstream's own read results, the truth files) and the write direction (the truth written
// through the Go store's table face and compared, row by row and item by item, with the raw
// forms upstream produced). The package has no non-test code; see compat_test.go and the
// other *_test.go files.
package compat
