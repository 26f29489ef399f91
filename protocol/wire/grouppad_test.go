package wire

import (
	"bytes"
	"testing"
)

// TestGroupBuckets checks the bucket list of spec › Key schedule v2 › Padding.
func TestGroupBuckets(t *testing.T) {
	want := []int{384, 512, 640, 768, 896, 1024, 1152, 1280, 1408, 1536, 1664, 1792, 1920, 2048,
		4096, 8192, 16384, 32768, 65536, 81920, 98304, 114688, 131072, 147456, 149504}
	if len(GroupBuckets) != len(want) {
		t.Fatalf("buckets %v", GroupBuckets)
	}
	for i := range want {
		if GroupBuckets[i] != want[i] {
			t.Fatalf("buckets %v, want %v", GroupBuckets, want)
		}
	}
	for _, c := range []struct {
		n     int
		block bool
		want  int
	}{{1, false, 384}, {384, false, 384}, {385, false, 512}, {1025, false, 1152}, {300, true, 1024},
		{1025, true, 2048}, {2049, false, 4096}, {70000, true, 81920}, {GroupPadCap, false, GroupPadCap}, {GroupPadCap + 1, false, GroupPadCap + 1}} {
		if got := GroupBucket(c.n, c.block); got != c.want {
			t.Errorf("GroupBucket(%d, %v) = %d, want %d", c.n, c.block, got, c.want)
		}
	}
}

// TestFramePadded: frames of different content sizes within a bucket encode to the same
// size; the padding is canonical (zero bytes to the bucket, nothing else accepted).
func TestFramePadded(t *testing.T) {
	a, err := (&FrameV2{Message: bytes.Repeat([]byte{1}, 10)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	b, err := (&FrameV2{Message: bytes.Repeat([]byte{1}, 90)}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(b) || len(a)+GroupOuterOverhead != 384 {
		t.Fatalf("frames of 10 and 90 bytes: %d and %d bytes", len(a), len(b))
	}
	k3, _ := (&FrameV2{Block: bytes.Repeat([]byte{2}, 3*110)}).Marshal()
	k4, _ := (&FrameV2{Block: bytes.Repeat([]byte{2}, 4*110)}).Marshal()
	if len(k3) != len(k4) || len(k3)+GroupOuterOverhead != GroupKeyBlockMin {
		t.Fatalf("key-block frames: %d and %d bytes", len(k3), len(k4))
	}
	bad := bytes.Clone(a)
	bad[len(bad)-1] = 1
	if _, err := ParseFrameV2(bad); err == nil {
		t.Fatal("non-zero padding accepted")
	}
	if _, err := ParseFrameV2(a[:len(a)-1]); err == nil {
		t.Fatal("short padding accepted")
	}
	if _, err := ParseFrameV2(append(bytes.Clone(a), make([]byte, 128)...)); err == nil {
		t.Fatal("padding to a larger bucket accepted")
	}
	f, err := ParseFrameV2(b)
	if err != nil || len(f.Message) != 90 || f.Block != nil {
		t.Fatalf("parse: %v", err)
	}
	// Beyond the last bucket: no padding at all.
	big, _ := (&FrameV2{Block: make([]byte, GroupPadCap)}).Marshal()
	if _, err := ParseFrameV2(big); err != nil || len(big) != GroupPadCap+6 {
		t.Fatalf("oversized frame: %d bytes, %v", len(big), err)
	}
}
