package epoch

import (
	"crypto/aes"
	"crypto/sha256"
	"fmt"
	"testing"
)

// TestSlotHintHidesRecipient (review 5, attacker review of kerecv5's version 3 key
// blocks): whoever reads a key block (a member, or a removed member opening its removal's
// block with the outer key it still holds: spec "Threat model", Removed member) may test
// a candidate installation id against a slot hint, but must not read the recipient's id
// out of the hint. A hint that is a block cipher's encryption of the recipient under a
// key derived from the event id alone (in the block's header) is inverted by anyone who
// sees the block: AES-128 decryption under SHA-256(u8<"chorus/v2/epoch/slot-hint-key"> ‖
// event)[0:16] gives back every recipient installation id, those the reader never knew
// included. This test decrypts each hint under that key (and under the same derivation
// with the hint's own label) and fails if it gives back the recipient. It passes with the
// SHA-256 hint (main) and fails with kerecv5's AES hint as it stands (1a1cad0); a one-way
// form at the same cost is AES_k(recipient) XOR recipient (Matyas–Meyer–Oseas).
func TestSlotHintHidesRecipient(t *testing.T) {
	for i := range 8 {
		event := testID(fmt.Sprint("event ", i))
		var recipient Installation
		r := testID(fmt.Sprint("recipient ", i))
		copy(recipient[:], r[:])
		hint := SlotHint(event, recipient)
		for _, label := range []string{"chorus/v2/epoch/slot-hint-key", "chorus/v2/epoch/slot-hint"} {
			k := sha256.Sum256(append(appendLabel(nil, label), event[:]...))
			c, err := aes.NewCipher(k[:16])
			if err != nil {
				t.Fatal(err)
			}
			var back [aes.BlockSize]byte
			c.Decrypt(back[:], hint[:])
			if back == [aes.BlockSize]byte(recipient[:]) {
				t.Fatalf("event %d: the slot hint decrypts to its recipient installation under a key derived from the event id (%q): anyone reading the block reads its recipients", i, label)
			}
		}
	}
}
