package main

import (
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/chorus-im/chorus/internal/statussample"
	"github.com/chorus-im/chorus/membership"
)

// actor is a named key pair of the vectors.
type actor struct {
	name string
	key  *ecdsa.PrivateKey
	pub  string
}

// loadActors parses the actors; a bad entry is reported (and fails every case of the file).
func loadActors(list []statussample.Actor) (map[string]*actor, []string) {
	out := make(map[string]*actor, len(list))
	var problems []string
	for i, a := range list {
		b, err := hex.DecodeString(a.PrivateKeyHex)
		if err != nil {
			problems = append(problems, fmt.Sprintf("actor %d (%s): private_key_hex: %v", i, a.Name, err))
			continue
		}
		key, err := crypto.ToECDSA(b)
		if err != nil {
			problems = append(problems, fmt.Sprintf("actor %d (%s): %v", i, a.Name, err))
			continue
		}
		pub := membership.PublicKeyString(&key.PublicKey)
		if a.PublicKey != "" && a.PublicKey != pub {
			problems = append(problems, fmt.Sprintf("actor %s: public_key: expected %s, got %s", a.Name, a.PublicKey, pub))
		}
		out[a.Name] = &actor{name: a.Name, key: key, pub: pub}
	}
	return out, problems
}

// unhex decodes a lowercase hex field, recording a problem on failure.
func (c *checker) unhex(field, s string) ([]byte, bool) {
	b, err := hex.DecodeString(s)
	if err != nil {
		c.failf("malformed case: %s: %v", field, err)
		return nil, false
	}
	return b, true
}
