package waku

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	wpb "github.com/waku-org/go-waku/waku/v2/protocol/pb"
	spb "github.com/waku-org/go-waku/waku/v2/protocol/store/pb"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/chorus-im/chorus/transport"
)

// The store v3 messages as 13/WAKU2-STORE defines them, written field by field with
// protowire (field numbers and wire types copied from the RFC by hand, not from the
// generated code), and compared byte for byte with the go-waku pb encoding.

type field struct {
	num protowire.Number
	typ protowire.Type
	val any // string, []byte, uint64 (varint), int64 (zigzag varint), bool, []field (message)
}

func encodeFields(fs []field) []byte {
	var b []byte
	for _, f := range fs {
		b = protowire.AppendTag(b, f.num, f.typ)
		switch v := f.val.(type) {
		case string:
			b = protowire.AppendString(b, v)
		case []byte:
			b = protowire.AppendBytes(b, v)
		case uint64:
			b = protowire.AppendVarint(b, v)
		case int64:
			b = protowire.AppendVarint(b, protowire.EncodeZigZag(v))
		case bool:
			b = protowire.AppendVarint(b, protowire.EncodeBool(v))
		case []field:
			b = protowire.AppendBytes(b, encodeFields(v))
		default:
			panic(fmt.Sprintf("field %d: %T", f.num, v))
		}
	}
	return b
}

// decodeFields splits a message into (number, type, raw value) triples, failing on
// anything malformed.
func decodeFields(t *testing.T, b []byte) []field {
	t.Helper()
	var out []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		var v any
		switch typ {
		case protowire.VarintType:
			x, m := protowire.ConsumeVarint(b)
			if m < 0 {
				t.Fatal("bad varint")
			}
			v, n = x, m
		case protowire.BytesType:
			x, m := protowire.ConsumeBytes(b)
			if m < 0 {
				t.Fatal("bad bytes")
			}
			v, n = x, m
		default:
			t.Fatalf("field %d: unexpected wire type %d", num, typ)
		}
		b = b[n:]
		out = append(out, field{num, typ, v})
	}
	return out
}

func TestStoreV3WireConformance(t *testing.T) {
	hash1, hash2, cursor := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	// StoreQueryRequest: request_id 1, include_data 2, pubsub_topic 10, content_topics 11,
	// time_start 12 (sint64), time_end 13 (sint64), message_hashes 20, pagination_cursor
	// 51, pagination_forward 52, pagination_limit 53 (uint64).
	req := &spb.StoreQueryRequest{
		RequestId: "req-1", IncludeData: true,
		PubsubTopic: proto.String("/waku/2/rs/16/32"), ContentTopics: []string{"/chorus/1/a/proto", "/chorus/1/b/proto"},
		TimeStart: proto.Int64(-5), TimeEnd: proto.Int64(1_700_000_000_000_000_000),
		MessageHashes:    [][]byte{hash1, hash2},
		PaginationCursor: cursor, PaginationForward: true, PaginationLimit: proto.Uint64(100),
	}
	wantReq := encodeFields([]field{
		{1, protowire.BytesType, "req-1"},
		{2, protowire.VarintType, true},
		{10, protowire.BytesType, "/waku/2/rs/16/32"},
		{11, protowire.BytesType, "/chorus/1/a/proto"},
		{11, protowire.BytesType, "/chorus/1/b/proto"},
		{12, protowire.VarintType, int64(-5)},
		{13, protowire.VarintType, int64(1_700_000_000_000_000_000)},
		{20, protowire.BytesType, hash1},
		{20, protowire.BytesType, hash2},
		{51, protowire.BytesType, cursor},
		{52, protowire.VarintType, true},
		{53, protowire.VarintType, uint64(100)},
	})
	gotReq, err := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotReq, wantReq) {
		t.Fatalf("StoreQueryRequest:\n got %x\nwant %x", gotReq, wantReq)
	}

	// WakuMessage (14/WAKU2-MESSAGE): payload 1, content_topic 2, version 3 (uint32),
	// timestamp 10 (sint64), meta 11, ephemeral 31.
	msg := &wpb.WakuMessage{Payload: []byte("hi"), ContentTopic: "/chorus/1/a/proto", Version: proto.Uint32(0), Timestamp: proto.Int64(1_700_000_000_123_456_789)}
	msgFields := []field{
		{1, protowire.BytesType, []byte("hi")},
		{2, protowire.BytesType, "/chorus/1/a/proto"},
		{3, protowire.VarintType, uint64(0)},
		{10, protowire.VarintType, int64(1_700_000_000_123_456_789)},
	}
	// StoreQueryResponse: request_id 1, status_code 10, status_desc 11, messages 20
	// (WakuMessageKeyValue: message_hash 1, message 2, pubsub_topic 3), cursor 51.
	resp := &spb.StoreQueryResponse{
		RequestId: "req-1", StatusCode: proto.Uint32(200), StatusDesc: proto.String("OK"),
		Messages: []*spb.WakuMessageKeyValue{
			{MessageHash: hash1, Message: msg, PubsubTopic: proto.String("/waku/2/rs/16/32")},
			{MessageHash: hash2},
		},
		PaginationCursor: hash2,
	}
	wantResp := encodeFields([]field{
		{1, protowire.BytesType, "req-1"},
		{10, protowire.VarintType, uint64(200)},
		{11, protowire.BytesType, "OK"},
		{20, protowire.BytesType, []field{
			{1, protowire.BytesType, hash1},
			{2, protowire.BytesType, msgFields},
			{3, protowire.BytesType, "/waku/2/rs/16/32"},
		}},
		{20, protowire.BytesType, []field{{1, protowire.BytesType, hash2}}},
		{51, protowire.BytesType, hash2},
	})
	gotResp, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotResp, wantResp) {
		t.Fatalf("StoreQueryResponse:\n got %x\nwant %x", gotResp, wantResp)
	}
}

// TestStoreV3ServedWire decodes what our server actually sends, field by field.
func TestStoreV3ServedWire(t *testing.T) {
	pub := start(t, Config{})
	srv := start(t, Config{Store: true, StorePath: filepath.Join(t.TempDir(), "s.db"), Peers: addrs(pub)})
	waitPeers(t, map[*Node]int{pub: 1, srv: 1})
	publishN(t, pub, 3, topicA)
	waitStored(t, 3, srv)
	cli := start(t, Config{Peers: addrs(srv)})
	waitPeers(t, map[*Node]int{cli: 1})
	req := encodeFields([]field{
		{1, protowire.BytesType, "wire"},
		{2, protowire.VarintType, true},
		{10, protowire.BytesType, protocolPubsub},
		{11, protowire.BytesType, topicA},
		{52, protowire.VarintType, true},
		{53, protowire.VarintType, uint64(2)},
	})
	resp := rawV3(t, cli, srv, append(protowire.AppendVarint(nil, uint64(len(req))), req...))
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	fs := decodeFields(t, raw)
	nums := []protowire.Number{}
	for _, f := range fs {
		nums = append(nums, f.num)
	}
	if !slices.Equal(nums, []protowire.Number{1, 10, 11, 20, 20, 51}) {
		t.Fatalf("response fields %v", nums)
	}
	if string(fs[0].val.([]byte)) != "wire" || fs[1].val.(uint64) != 200 || len(fs[5].val.([]byte)) != 32 {
		t.Fatalf("response values %v", fs)
	}
	for _, f := range fs[3:5] {
		kv := decodeFields(t, f.val.([]byte))
		if len(kv) != 3 || kv[0].num != 1 || kv[1].num != 2 || kv[2].num != 3 || string(kv[2].val.([]byte)) != protocolPubsub {
			t.Fatalf("WakuMessageKeyValue fields %v", kv)
		}
		m := decodeFields(t, kv[1].val.([]byte))
		var got []protowire.Number
		for _, x := range m {
			got = append(got, x.num)
		}
		if !slices.Equal(got, []protowire.Number{1, 2, 3, 10}) {
			t.Fatalf("WakuMessage fields %v", got)
		}
		ts := protowire.DecodeZigZag(m[3].val.(uint64))
		h := transport.MessageHash(protocolPubsub, string(m[1].val.([]byte)), m[0].val.([]byte), ts)
		if !bytes.Equal(h[:], kv[0].val.([]byte)) {
			t.Fatal("served key is not the message hash")
		}
	}
}

// hashCase is one message for the cross-check, in the form hash.mjs reads.
type hashCase struct {
	PubsubTopic  string `json:"pubsubTopic"`
	Payload      string `json:"payload"`
	ContentTopic string `json:"contentTopic"`
	Meta         string `json:"meta,omitempty"`
	Timestamp    string `json:"timestamp"`
	meta         bool
}

// TestMessageHashRFC14: the test vectors of 14/WAKU2-MESSAGE (deterministic message
// hashing), through go-waku's hash and through js-waku's @waku/message-hash.
// transport.MessageHash (no meta) must match the meta-less vector.
func TestMessageHashRFC14(t *testing.T) {
	const ps, ct = "/waku/2/default-waku/proto", "/waku/2/default-content/proto"
	payload, _ := hex.DecodeString("010203045445535405060708")
	meta64, _ := hex.DecodeString("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f")
	const ts = int64(0x175789bfa23f8400)
	vectors := []struct {
		payload, meta []byte
		want          string
	}{
		{payload, []byte("super-secret"), "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05"},
		{payload, meta64, "7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27"},
		{payload, nil, "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8"},
		{nil, []byte("super-secret"), "483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4"},
	}
	var cases []hashCase
	for i, v := range vectors {
		m := &wpb.WakuMessage{Payload: v.payload, ContentTopic: ct, Meta: v.meta, Timestamp: proto.Int64(ts)}
		if got := m.Hash(ps); hex.EncodeToString(got[:]) != v.want {
			t.Errorf("vector %d: go-waku %x, RFC %s", i, got, v.want)
		}
		if v.meta == nil {
			if got := transport.MessageHash(ps, ct, v.payload, ts); hex.EncodeToString(got[:]) != v.want {
				t.Errorf("vector %d: transport.MessageHash %x, RFC %s", i, got, v.want)
			}
		}
		cases = append(cases, hashCase{PubsubTopic: ps, Payload: hex.EncodeToString(v.payload), ContentTopic: ct,
			Meta: hex.EncodeToString(v.meta), Timestamp: fmt.Sprint(ts), meta: v.meta != nil})
	}
	js := jsHashes(t, cases)
	for i, v := range vectors {
		if js[i] != v.want {
			t.Errorf("vector %d: js-waku %s, RFC %s", i, js[i], v.want)
		}
	}
}

// TestMessageHashJS cross-checks Chorus message hashes (what History de-duplicates by
// and the store serves as keys) against js-waku on messages like Chorus sends.
func TestMessageHashJS(t *testing.T) {
	var cases []hashCase
	var want []string
	for i := range 200 {
		payload := bytes.Repeat([]byte{byte(i), byte(i * 7)}, 1+i*3)
		topic := fmt.Sprintf("/chorus/1/g-%032x/proto", i*i)
		ts := int64(1_700_000_000_000_000_000) + int64(i)*1_000_003
		h := transport.MessageHash(protocolPubsub, topic, payload, ts)
		m := &wpb.WakuMessage{Payload: payload, ContentTopic: topic, Timestamp: proto.Int64(ts)}
		if g := m.Hash(protocolPubsub); g != h {
			t.Fatalf("case %d: go-waku and transport.MessageHash differ", i)
		}
		want = append(want, hex.EncodeToString(h[:]))
		cases = append(cases, hashCase{PubsubTopic: protocolPubsub, Payload: hex.EncodeToString(payload), ContentTopic: topic, Timestamp: fmt.Sprint(ts)})
	}
	got := jsHashes(t, cases)
	if !slices.Equal(got, want) {
		t.Fatalf("js-waku hashes differ:\n got %v\nwant %v", got[:3], want[:3])
	}
}

// jsHashes runs testdata/jshash/hash.mjs (js-waku's @waku/message-hash, installed by
// `make jsdeps`). Missing node or dependencies fail the test: nothing is skipped.
func jsHashes(t *testing.T, cases []hashCase) []string {
	t.Helper()
	dir := filepath.Join("testdata", "jshash")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@waku", "message-hash")); err != nil {
		t.Fatalf("js-waku's @waku/message-hash is not installed (run `make jsdeps`, which runs npm ci in %s): %v", dir, err)
	}
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required for the js-waku cross-check: %v", err)
	}
	in := make([]map[string]string, len(cases))
	for i, c := range cases {
		in[i] = map[string]string{"pubsubTopic": c.PubsubTopic, "payload": c.Payload, "contentTopic": c.ContentTopic, "timestamp": c.Timestamp}
		if c.meta {
			in[i]["meta"] = c.Meta
		}
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60_000_000_000)
	defer cancel()
	cmd := exec.CommandContext(ctx, nodeBin, "hash.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(data)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node hash.mjs: %v: %s", err, stderr.String())
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(cases) {
		t.Fatalf("node hash.mjs: %d hashes for %d messages", len(lines), len(cases))
	}
	return lines
}
