package membership_test

import (
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"
	"time"

	m "github.com/chorus-im/chorus/membership"
	"github.com/chorus-im/chorus/spec"
)

// TestSnapshotVectors: spec/vectors/membership_snapshot.json (spec/gen/membership): the
// snapshot decodes and re-encodes to its bytes; the later events, delivered one by one,
// lead to the state the vector gives.
func TestSnapshotVectors(t *testing.T) {
	var actors chorusVectors
	data, err := spec.Vectors.ReadFile("vectors/membership.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &actors); err != nil {
		t.Fatal(err)
	}
	key := map[string]string{}
	for _, a := range actors.Actors {
		key[a.Name] = a.PublicKey
	}
	keysOf := func(names []string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = key[n]
		}
		return out
	}
	var f struct {
		Cases []struct {
			Name        string `json:"name"`
			ChatID      string `json:"chat_id"`
			NowMs       int64  `json:"now_ms"`
			SnapshotHex string `json:"snapshot_hex"`
			Later       []struct {
				Label  string `json:"label"`
				RawHex string `json:"raw_hex"`
			} `json:"later"`
			Members   []string `json:"members"`
			Admins    []string `json:"admins"`
			GroupName string   `json:"group_name"`
			Pending   []string `json:"pending"`
		} `json:"cases"`
	}
	data, err = spec.Vectors.ReadFile("vectors/membership_snapshot.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil || len(f.Cases) == 0 {
		t.Fatalf("vectors: %v", err)
	}
	for _, c := range f.Cases {
		t.Run(c.Name, func(t *testing.T) {
			enc, _ := hex.DecodeString(c.SnapshotHex)
			st, err := m.ParseSnapshot(c.ChatID, enc)
			if err != nil {
				t.Fatal(err)
			}
			if again, err := st.MarshalSnapshot(); err != nil || hex.EncodeToString(again) != c.SnapshotHex {
				t.Fatalf("does not re-encode to its bytes: %v", err)
			}
			raws := map[string]string{}
			for _, e := range c.Later {
				raw, _ := hex.DecodeString(e.RawHex)
				raws[hex.EncodeToString(raw)] = e.Label
				msg := encodeRaw(t, c.ChatID, raw)
				if st, _, err = m.Update(&st, msg, key["dave"], time.UnixMilli(c.NowMs), m.ChorusRules()); err != nil {
					t.Fatalf("%s: %v", e.Label, err)
				}
			}
			var pending []string
			for _, e := range st.Pending {
				pending = append(pending, raws[hex.EncodeToString(e.Raw())])
			}
			if !slices.Equal(st.Members.Strings(), keysOf(c.Members)) || !slices.Equal(st.Admins, keysOf(c.Admins)) || st.Name != c.GroupName ||
				!slices.Equal(pending, c.Pending) || st.Base == nil {
				t.Fatalf("state: members %v admins %v name %q pending %v", names(st.Members.Strings()), names(st.Admins), st.Name, pending)
			}
		})
	}
}
