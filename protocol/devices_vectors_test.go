package protocol_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/persistence"
	"github.com/chorus-im/chorus/protocol"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/spec"
	"github.com/chorus-im/chorus/transport/memory"
)

// TestDeviceVectors checks the engine against spec/vectors/devices.json: link topics,
// link code encodings and device-list merges applied in both orders.
func TestDeviceVectors(t *testing.T) {
	raw, err := spec.Vectors.ReadFile("vectors/devices.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			Name        string   `json:"name"`
			Kind        string   `json:"kind"`
			Secret      string   `json:"secret"`
			Topic       string   `json:"topic"`
			Platform    string   `json:"platform"`
			Bundle      string   `json:"bundle"`
			Code        string   `json:"code"`
			DeviceLists []string `json:"cards"`
			Union       []struct {
				ID      string `json:"id"`
				Revoked bool   `json:"revoked"`
			} `json:"union"`
			Kept int `json:"kept"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("no vectors")
	}
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range f.Cases {
		switch c.Kind {
		case "link_topic":
			if got := protocol.LinkTopicForTest([16]byte(unhex(c.Secret))); got != c.Topic {
				t.Errorf("%s: topic %s, want %s", c.Name, got, c.Topic)
			}
		case "link_code":
			b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(c.Code, "chorus-link1:"))
			if err != nil {
				t.Fatal(err)
			}
			lc, err := wire.ParseLinkCode(b)
			if err != nil || lc.Secret != [16]byte(unhex(c.Secret)) || lc.Platform != c.Platform || !bytes.Equal(lc.Bundle, unhex(c.Bundle)) {
				t.Fatalf("%s: parsed %+v %v", c.Name, lc, err)
			}
			if again, _ := lc.Marshal(); !bytes.Equal(again, b) {
				t.Errorf("%s: re-encoding differs", c.Name)
			}
		case "device_list_merge":
			var lists [][]byte
			for _, s := range c.DeviceLists {
				lists = append(lists, unhex(s))
			}
			list, err := devicelist.Parse(lists[0])
			if err != nil {
				t.Fatal(err)
			}
			account := "0x" + hex.EncodeToString(list.Account[:])
			for _, order := range [][][]byte{lists, reversed(lists)} {
				st, err := persistence.Open(":memory:")
				if err != nil {
					t.Fatal(err)
				}
				cl, err := protocol.New(context.Background(), st, memory.NewNetwork(memory.Config{}).Join("v"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := cl.CreateAccount(context.Background()); err != nil {
					t.Fatal(err)
				}
				for _, raw := range order {
					if err := protocol.MergeDeviceListForTest(cl, raw); err != nil {
						t.Fatalf("%s: %v", c.Name, err)
					}
				}
				got, kept := protocol.DeviceListOf(cl, account)
				if len(got) != len(c.Union) {
					t.Fatalf("%s: %d installations, want %d", c.Name, len(got), len(c.Union))
				}
				for _, e := range c.Union {
					rev, ok := got[protocol.InstallationID(unhex(e.ID))]
					if !ok || rev != e.Revoked {
						t.Fatalf("%s: installation %s revoked=%v (known %v), want %v", c.Name, e.ID[:8], rev, ok, e.Revoked)
					}
				}
				// The kept device list is the chosen list (its signed part), carrying the binding of
				// every installation of the union and no other.
				kc, err := devicelist.Parse(kept)
				if err != nil {
					t.Fatalf("%s: kept device list: %v", c.Name, err)
				}
				want, _ := devicelist.Parse(lists[c.Kept])
				a, _ := kc.SignedPart()
				b, _ := want.SignedPart()
				if !bytes.Equal(a, b) {
					t.Errorf("%s: kept another device list than #%d", c.Name, c.Kept)
				}
				for _, e := range kc.Entries {
					if _, ok := got[protocol.InstallationID(e.ID)]; ok != (e.Binding != nil) {
						t.Errorf("%s: kept device list: installation %x in the union %v, binding %x", c.Name, e.ID[:4], ok, e.Binding)
					}
				}
				cl.Close()
				st.Close()
			}
		default:
			t.Fatalf("%s: unknown kind %q", c.Name, c.Kind)
		}
	}
}

func reversed(in [][]byte) [][]byte {
	out := slices.Clone(in)
	slices.Reverse(out)
	return out
}
