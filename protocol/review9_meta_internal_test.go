package protocol

import (
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestReview9EpochMetaNilEntry (review 9): the binary bookkeeping encoding (kev9) has a
// covNil flag for "no entry" (a JSON null) and decodeMetaBinary accepts it, putting a nil
// *coverage in Covered or a nil *partCoverage in Parts; loadMeta then calls
// upgradeHints on every entry and dereferences the nil one: a record holding one (a
// corrupted or truncated-and-rewritten epoch_meta column; the engine itself never stores
// a nil entry) panics the client on every load of the group (each key event, each
// message's R1 check) instead of failing with an error. FuzzEpochMetaBinary calls loadMeta
// on its inputs but its 20000-execution budget has not found it; the JSON records that
// still load panic the same way on a null entry.
//
// Asserted: loadMeta returns an error (no panic) for each such record.
func TestReview9EpochMetaNilEntry(t *testing.T) {
	for name, x := range map[string][]byte{
		// metaBinary, V 2, Departs 0, Covered 1 × ("e", covNil), Parts 0, Uncovered 0, Epochs 0, Kept 0
		"binary, nil coverage": {metaBinary, 2, 0, 1, 2, 'e', covNil, 0, 0, 0, 0},
		// ... Covered 0, Parts 1 × ("e", covNil), ...
		"binary, nil part":    {metaBinary, 2, 0, 0, 1, 2, 'e', covNil, 0, 0, 0},
		"JSON, null coverage": []byte(`{"v":2,"c":{"e":null}}`),
		"JSON, null part":     []byte(`{"v":2,"p":{"e":null}}`),
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("loadMeta(%x) panicked: %v", x, r)
				}
			}()
			if m, err := loadMeta(&storage.GroupRecord{EpochMeta: x}); err == nil {
				t.Errorf("loadMeta(%x) loaded %+v, want an error", x, m)
			}
		})
	}
}
