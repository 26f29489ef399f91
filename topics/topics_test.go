package topics

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/chorus-im/chorus/internal/floor"
	"github.com/chorus-im/chorus/spec"
)

type vectorCase struct {
	Name        string  `json:"name"`
	Expect      string  `json:"expect"`
	Kind        string  `json:"kind"`
	TopicName   string  `json:"topic_name"`
	Topic       string  `json:"topic"`
	Cluster     *uint16 `json:"cluster"`
	Shard       *uint16 `json:"shard"`
	GroupSecret string  `json:"group_secret"`
	Buckets     *uint32 `json:"buckets"`
	AccountPub  string  `json:"account_pub"`
	AnnounceKey string  `json:"announce_key"`
}

func loadVectors(t testing.TB) []vectorCase {
	t.Helper()
	b, err := spec.Vectors.ReadFile("vectors/topics.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []vectorCase `json:"cases"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatal("topics.json: zero cases")
	}
	return f.Cases
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVectors(t *testing.T) {
	cases := loadVectors(t)
	kinds := map[string]int{}
	for _, c := range cases {
		kinds[c.Kind]++
		t.Run(c.Name, func(t *testing.T) {
			switch c.Kind {
			case "content_topic":
				name, err := ParseContentTopic(c.Topic)
				if c.Expect == "invalid" {
					if err == nil || !errors.Is(err, ErrInvalidContentTopic) || name != "" {
						t.Fatalf("ParseContentTopic(%q) = %q, %v; want ErrInvalidContentTopic", c.Topic, name, err)
					}
					return
				}
				if got := ContentTopic(c.TopicName); got != c.Topic {
					t.Fatalf("ContentTopic = %q, want %q", got, c.Topic)
				}
				if err != nil || name != c.TopicName {
					t.Fatalf("ParseContentTopic = %q, %v", name, err)
				}
			case "pubsub_topic":
				cl, sh, err := ParsePubsubTopic(c.Topic)
				if c.Expect == "invalid" {
					if !errors.Is(err, ErrInvalidPubsubTopic) || cl != 0 || sh != 0 {
						t.Fatalf("ParsePubsubTopic(%q) = %d, %d, %v", c.Topic, cl, sh, err)
					}
					return
				}
				if got := PubsubTopic(*c.Cluster, *c.Shard); got != c.Topic {
					t.Fatalf("PubsubTopic = %q, want %q", got, c.Topic)
				}
				if err != nil || cl != *c.Cluster || sh != *c.Shard {
					t.Fatalf("ParsePubsubTopic = %d, %d, %v", cl, sh, err)
				}
			case "group_topic":
				if got := GroupTopic(mustHex(t, c.GroupSecret), *c.Buckets); got != c.Topic {
					t.Fatalf("GroupTopic = %q, want %q", got, c.Topic)
				}
			case "inbox_topic":
				if got := InboxTopic(mustHex(t, c.AccountPub)); got != c.Topic {
					t.Fatalf("InboxTopic = %q, want %q", got, c.Topic)
				}
			case "announce":
				pub := mustHex(t, c.AccountPub)
				if got := AnnounceTopic(pub); got != c.Topic {
					t.Fatalf("AnnounceTopic = %q, want %q", got, c.Topic)
				}
				k := AnnounceKey(pub)
				if !bytes.Equal(k[:], mustHex(t, c.AnnounceKey)) {
					t.Fatalf("AnnounceKey = %x, want %s", k, c.AnnounceKey)
				}
			default:
				t.Fatalf("unknown kind %q", c.Kind)
			}
		})
	}
	for _, k := range []string{"content_topic", "pubsub_topic", "group_topic", "inbox_topic", "announce"} {
		if kinds[k] == 0 {
			t.Errorf("no vectors of kind %s", k)
		}
	}
}

// TestDerivationsIndependent recomputes the derivations from the spec text, not from
// the package helpers.
func TestDerivationsIndependent(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	okm, _ := hkdf.Key(sha256.New, secret, nil, "chorus/v1/topics/group", 24)
	if want := "/chorus/1/g-" + hex.EncodeToString(okm[:16]) + "/proto"; GroupTopic(secret, 0) != want {
		t.Fatalf("GroupTopic = %s, want %s", GroupTopic(secret, 0), want)
	}
	if want := fmt.Sprintf("/chorus/1/gb10-%d/proto", binary.BigEndian.Uint64(okm[16:])%10); GroupTopic(secret, 10) != want {
		t.Fatalf("GroupTopic(10) = %s, want %s", GroupTopic(secret, 10), want)
	}
	pub := append([]byte{4}, bytes.Repeat([]byte{9}, 64)...)
	p, _ := hkdf.Key(sha256.New, pub, nil, "chorus/v1/topics/inbox", 8)
	if want := fmt.Sprintf("/chorus/1/inbox-%d/proto", binary.BigEndian.Uint64(p)%64); InboxTopic(pub) != want {
		t.Fatalf("InboxTopic = %s, want %s", InboxTopic(pub), want)
	}
	a, _ := hkdf.Key(sha256.New, pub, nil, "chorus/v1/topics/announce", 8)
	if want := fmt.Sprintf("/chorus/1/announce-%d/proto", binary.BigEndian.Uint64(a)%64); AnnounceTopic(pub) != want {
		t.Fatalf("AnnounceTopic = %s, want %s", AnnounceTopic(pub), want)
	}
	k, _ := hkdf.Key(sha256.New, pub, nil, "chorus/v1/topics/announce-key", 32)
	if got := AnnounceKey(pub); !bytes.Equal(got[:], k) {
		t.Fatal("AnnounceKey mismatch")
	}
}

func TestDefaultPubsubTopic(t *testing.T) {
	if PubsubTopic(DefaultCluster, DefaultShard) != DefaultPubsubTopic {
		t.Fatal("DefaultPubsubTopic inconsistent with DefaultCluster/DefaultShard")
	}
}

func TestGroupTopicProperties(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		s := sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		g := GroupTopic(s[:], 0)
		if seen[g] {
			t.Fatalf("collision at %d", i)
		}
		seen[g] = true
		if _, err := ParseContentTopic(g); err != nil {
			t.Fatal(err)
		}
		b := GroupTopic(s[:], 8)
		name, err := ParseContentTopic(b)
		if err != nil || !strings.HasPrefix(name, "gb8-") {
			t.Fatalf("bucketed %q %v", b, err)
		}
	}
	// Group, inbox and announcement topics of the same bytes are unrelated namespaces.
	x := bytes.Repeat([]byte{1}, 65)
	if GroupTopic(x, 64) == InboxTopic(x) || InboxTopic(x) == AnnounceTopic(x) {
		t.Fatal("namespaces overlap")
	}
}

// TestPartitionsSpread checks that inbox partitions are used roughly uniformly, so that
// each inbox topic really is shared by many accounts.
func TestPartitionsSpread(t *testing.T) {
	const n = 64 * 200
	counts := map[string]int{}
	for i := 0; i < n; i++ {
		pub := sha256.Sum256([]byte(fmt.Sprint("acct", i)))
		counts[InboxTopic(append([]byte{4}, append(pub[:], pub[:]...)...))]++
	}
	if len(counts) != InboxPartitions {
		t.Fatalf("%d partitions used, want %d", len(counts), InboxPartitions)
	}
	for k, c := range counts {
		if c < 100 || c > 300 { // expectation 200, sd ~14
			t.Fatalf("partition %s has %d accounts", k, c)
		}
	}
}

func TestContentTopicPanicsOnInvalidName(t *testing.T) {
	for _, n := range []string{"", "A", "a/b", "-a", strings.Repeat("a", MaxNameLen+1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ContentTopic(%q) did not panic", n)
				}
			}()
			ContentTopic(n)
		}()
		if ValidName(n) == nil {
			t.Errorf("ValidName(%q) = nil", n)
		}
	}
}

func FuzzParseContentTopic(f *testing.F) {
	for _, c := range loadVectors(f) {
		if c.Kind == "content_topic" {
			f.Add(c.Topic)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, err := ParseContentTopic(s)
		if err != nil {
			if name != "" {
				t.Fatal("error with non-empty name")
			}
			return
		}
		if ValidName(name) != nil || ContentTopic(name) != s {
			t.Fatalf("round trip %q -> %q", s, name)
		}
	})
}

func FuzzParsePubsubTopic(f *testing.F) {
	for _, c := range loadVectors(f) {
		if c.Kind == "pubsub_topic" {
			f.Add(c.Topic)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, sh, err := ParsePubsubTopic(s)
		if err != nil {
			if c != 0 || sh != 0 {
				t.Fatal("error with non-zero output")
			}
			return
		}
		if PubsubTopic(c, sh) != s {
			t.Fatalf("round trip %q -> %d/%d", s, c, sh)
		}
	})
}

func BenchmarkGroupTopic(b *testing.B) {
	s := bytes.Repeat([]byte{3}, 32)
	b.ReportAllocs()
	for b.Loop() {
		GroupTopic(s, 0)
	}
}

func BenchmarkInboxTopic(b *testing.B) {
	pub := append([]byte{4}, bytes.Repeat([]byte{9}, 64)...)
	b.ReportAllocs()
	for b.Loop() {
		InboxTopic(pub)
	}
}

func BenchmarkFloor(b *testing.B) { floor.Run(b) }
