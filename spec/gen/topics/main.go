// Command topics writes the conformance vectors of package topics (spec/README.md,
// ## topics) to DIR/topics.json. Output is byte-deterministic: inputs come from a SHA-256
// counter stream seeded with a fixed label.
package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/topics"
)

// stream is a deterministic byte source: SHA-256(seed || counter) blocks.
type stream struct {
	seed []byte
	ctr  uint64
	buf  []byte
}

func (s *stream) bytes(n int) []byte {
	for len(s.buf) < n {
		var c [8]byte
		binary.BigEndian.PutUint64(c[:], s.ctr)
		s.ctr++
		h := sha256.Sum256(append(append([]byte{}, s.seed...), c[:]...))
		s.buf = append(s.buf, h[:]...)
	}
	out := s.buf[:n:n]
	s.buf = s.buf[n:]
	return out
}

// accountKey returns a deterministic 65-byte uncompressed secp256k1 public key.
func (s *stream) accountKey() []byte {
	for {
		k, err := crypto.ToECDSA(s.bytes(32))
		if err == nil {
			return crypto.FromECDSAPub(&k.PublicKey)
		}
	}
}

// Case is one vector. Kind selects the function under test; unused fields are omitted.
type Case struct {
	Name        string  `json:"name"`
	Expect      string  `json:"expect"`
	Kind        string  `json:"kind"`
	TopicName   string  `json:"topic_name,omitempty"`
	Topic       string  `json:"topic,omitempty"`
	Cluster     *uint16 `json:"cluster,omitempty"`
	Shard       *uint16 `json:"shard,omitempty"`
	GroupSecret string  `json:"group_secret,omitempty"`
	Buckets     *uint32 `json:"buckets,omitempty"`
	AccountPub  string  `json:"account_pub,omitempty"`
	AnnounceKey string  `json:"announce_key,omitempty"`
}

// File is the vector file.
type File struct {
	Description string `json:"description"`
	Cases       []Case `json:"cases"`
}

func u16(v uint16) *uint16 { return &v }
func u32(v uint32) *uint32 { return &v }

func build() File {
	s := &stream{seed: []byte("chorus/v1/vectors/topics")}
	f := File{Description: "Chorus topics: content-topic format and parsing, pubsub topics, group topics from the group secret (HKDF label chorus/v1/topics/group, optional buckets), inbox and announcement partitions (64 each) and the announcement key. expect: success | invalid."}
	add := func(c Case) { f.Cases = append(f.Cases, c) }

	for _, n := range []string{"a", "inbox-0", "g-00112233445566778899aabbccddeeff", "x.y_z-1", "0", "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01"} {
		add(Case{Name: "content/" + n, Expect: "success", Kind: "content_topic", TopicName: n, Topic: topics.ContentTopic(n)})
	}
	for i, t := range []string{
		"", "/chorus/1//proto", "/chorus/2/a/proto", "/chorus/1/a/rlp", "/chorus/1/A/proto",
		"/chorus/1/a/b/proto", "/chorus/1/-a/proto", "chorus/1/a/proto", "/chorus/1/a/proto/",
		"/chorus/1/a b/proto", "/chorus/1/abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012/proto",
		"/chorus/1/\u00e9/proto", "/chorus/1/proto",
	} {
		add(Case{Name: fmt.Sprintf("content/invalid/%d", i), Expect: "invalid", Kind: "content_topic", Topic: t})
	}

	for _, cs := range [][2]uint16{{16, 32}, {0, 0}, {1, 7}, {65535, 65535}} {
		add(Case{Name: fmt.Sprintf("pubsub/%d/%d", cs[0], cs[1]), Expect: "success", Kind: "pubsub_topic",
			Cluster: u16(cs[0]), Shard: u16(cs[1]), Topic: topics.PubsubTopic(cs[0], cs[1])})
	}
	for i, t := range []string{"", "/waku/2/rs/16", "/waku/2/rs/16/032", "/waku/2/rs/65536/1", "/waku/2/rs/-1/2",
		"/waku/2/rs/16/32/", "/waku/2/default-waku/proto", "/waku/2/rs/+1/2", "/waku/2/rs//2"} {
		add(Case{Name: fmt.Sprintf("pubsub/invalid/%d", i), Expect: "invalid", Kind: "pubsub_topic", Topic: t})
	}

	for i := 0; i < 4; i++ {
		secret := s.bytes(32)
		for _, b := range []uint32{0, 1, 16, 1000} {
			add(Case{Name: fmt.Sprintf("group/%d/buckets-%d", i, b), Expect: "success", Kind: "group_topic",
				GroupSecret: hex.EncodeToString(secret), Buckets: u32(b), Topic: topics.GroupTopic(secret, b)})
		}
	}
	for i := 0; i < 8; i++ {
		pub := s.accountKey()
		add(Case{Name: fmt.Sprintf("inbox/%d", i), Expect: "success", Kind: "inbox_topic",
			AccountPub: hex.EncodeToString(pub), Topic: topics.InboxTopic(pub)})
		k := topics.AnnounceKey(pub)
		add(Case{Name: fmt.Sprintf("announce/%d", i), Expect: "success", Kind: "announce",
			AccountPub: hex.EncodeToString(pub), Topic: topics.AnnounceTopic(pub), AnnounceKey: hex.EncodeToString(k[:])})
	}
	return f
}

func main() {
	out := flag.String("out", "spec/vectors", "output directory")
	flag.Parse()
	b, err := json.MarshalIndent(build(), "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b = append(b, '\n')
	if err := os.WriteFile(filepath.Join(*out, "topics.json"), b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
