//go:build race

package protocol_test

// raceEnabled: the tests are built with the race detector (allocation figures that
// depend on sync.Pool are not asserted: it drops puts at random then).
const raceEnabled = true
