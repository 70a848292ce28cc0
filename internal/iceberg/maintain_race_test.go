//go:build race

package iceberg

// raceEnabled: under the race detector everything is several times
// slower, so tests that depend on the orphan age use longer ones.
const raceEnabled = true
