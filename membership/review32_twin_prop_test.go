package membership_test

import "testing"

// TestReview32HeldTwinProperty — fix 48 (reachingHeld: a held twin counts in twinReaches
// only while none of its twins is needed) checked for order dependence: review 31's late
// twin property (TestReview31LateTwinProperty) where half the re-signed copies are
// BACKDATED (the original's parents, a clock 1–39 below it: held twins of needed
// originals, or kept in place of unneeded ones, needed again when a replica that never saw
// the original builds on the copy), and copies are themselves re-signed (twins of twins,
// several held twins of one needed event). Asserted, per seed: Derive(all) equals Derive of
// its own log, every replica after receiving everything, and one-at-a-time delivery in a
// shuffled order (sameState). Result: see the commit message.
func TestReview32HeldTwinProperty(t *testing.T) {
	runLateTwinProp(t, 32, true)
}
