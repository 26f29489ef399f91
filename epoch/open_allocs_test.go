package epoch

import (
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

// TestOpenTrackedAllocs: opening a message in order allocates its plaintext, the cipher,
// and one buffer for what the signature check and the cipher are handed (the digest, the
// nonce, the associated data), not one each (issue 16: every allocation of the receive
// path costs, cold). The signature check is a stub: it is not what is counted.
func TestOpenTrackedAllocs(t *testing.T) {
	ep := testEpoch("allocs")
	inst := Installation{5}
	key := testKey(t, "allocs")
	pub := crypto.FromECDSAPub(&key.PublicKey)
	s := NewSenderChain(&ep, inst)
	const n = 120
	msgs := make([][]byte, n)
	for i := range msgs {
		m, err := s.Seal(key, []byte("hello"))
		if err != nil {
			t.Fatal(err)
		}
		msgs[i] = m
	}
	r := NewReceiverChain(&ep, inst)
	verify := func(pub, digest, sig []byte) bool { return len(digest) == 32 && len(sig) == SignatureSize }
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		pt, _, err := r.OpenTracked(verify, pub, msgs[i])
		if err != nil || string(pt) != "hello" {
			t.Fatalf("message %d: %q %v", i, pt, err)
		}
		i++
	})
	if allocs > 3 {
		t.Errorf("OpenTracked: %.0f allocations, want at most 3", allocs)
	}
}
