//go:build !race

package protocol_test

// raceEnabled: the tests are built with the race detector.
const raceEnabled = false
