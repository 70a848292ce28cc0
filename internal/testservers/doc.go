// Package testservers starts the real servers that integration tests of
// several packages run against, each in the test's temporary directory and
// stopped when the test ends. Only tests import it.
//
// A server binary that is missing skips the test locally and fails it when
// CI is set, so CI cannot pass without having run them.
//
// It also holds the readers (node.go): scripts that read the tables and
// files sessionize writes with libraries other than its writers', for tests
// to compare with their own reading.
package testservers
