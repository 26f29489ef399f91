package devicelist

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/cryptobyte"

	"github.com/chorus-im/chorus/x3dh"
)

// digest is what the account key signs: SHA-256(u8<"chorus/v1/protocol/card"> ||
// u32(len) || signed part).
func digest(signed []byte) [32]byte {
	var b cryptobyte.Builder
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(labelList)) })
	b.AddUint32(uint32(len(signed)))
	b.AddBytes(signed)
	return sha256.Sum256(b.BytesOrPanic())
}

// Sign sets l's account to key's public key and signs l's signed part with key.
func (l *List) Sign(key *ecdsa.PrivateKey) error {
	copy(l.Account[:], crypto.FromECDSAPub(&key.PublicKey))
	signed, err := l.SignedPart()
	if err != nil {
		return err
	}
	d := digest(signed)
	sig, err := crypto.Sign(d[:], key)
	if err != nil {
		return err
	}
	copy(l.Signature[:], sig[:SignatureSize])
	return nil
}

// bindingDigest is what an installation signs to bind itself to its account:
// SHA-256(u8<"chorus/v1/protocol/installation-binding"> || account(65) || id(16) ||
// dh(32) || signing(33)).
func bindingDigest(account []byte, id [16]byte, dh [32]byte, signing [33]byte) [32]byte {
	var b cryptobyte.Builder
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(labelBinding)) })
	b.AddBytes(account)
	b.AddBytes(id[:])
	b.AddBytes(dh[:])
	b.AddBytes(signing[:])
	return sha256.Sum256(b.BytesOrPanic())
}

// Bind returns the binding signature of ident to the account with the 65-byte public key
// account.
func Bind(ident *x3dh.Identity, account []byte) ([]byte, error) {
	pub := ident.Public()
	d := bindingDigest(account, pub.ID, pub.DH, pub.Signing)
	sig, err := crypto.Sign(d[:], ident.SigningKey())
	if err != nil {
		return nil, err
	}
	return sig[:BindingSize], nil
}

// BindingValid reports whether e carries a valid binding signature of its installation
// to the account with the 65-byte public key account.
func BindingValid(account []byte, e *Entry) bool {
	if len(e.Binding) != BindingSize {
		return false
	}
	d := bindingDigest(account, e.ID, e.DH, e.Signing)
	return crypto.VerifySignature(e.Signing[:], d[:], e.Binding)
}

// AccountID is how Chorus writes an account: "0x" + hex of its 65-byte key.
func AccountID(account [AccountKeySize]byte) string {
	return "0x" + hex.EncodeToString(account[:])
}

// Verified is a parsed device list whose account signature, bindings and bundles were
// checked.
type Verified struct {
	List    *List
	Account string                    // AccountID of the list's account
	Bound   map[[16]byte]bool         // entries whose binding signature is valid
	Bundles map[[16]byte]*x3dh.Bundle // valid bundles by installation id
}

// Verify parses and verifies a device list: the account signature over the list, the
// list rules (CheckRules), each entry's binding signature (an entry without a valid one
// is not bound: Merge ignores it unless the installation is already bound to the
// account), and each bundle's own signature and its match with a listed, unrevoked
// installation. Bundles that do not verify at now are ignored (the list stays valid).
// Invalid bindings are dropped from the list (they are not covered by the account
// signature; anyone could have altered them).
func Verify(b []byte, now time.Time) (*Verified, error) {
	l, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if _, err := crypto.UnmarshalPubkey(l.Account[:]); err != nil {
		return nil, fmt.Errorf("%w: account key", ErrBadSignature)
	}
	signed, err := l.SignedPart()
	if err != nil {
		return nil, err
	}
	d := digest(signed)
	if !crypto.VerifySignature(l.Account[:], d[:], l.Signature[:]) {
		return nil, ErrBadSignature
	}
	if err := CheckRules(l); err != nil {
		return nil, err
	}
	v := &Verified{List: l, Account: AccountID(l.Account), Bound: map[[16]byte]bool{}, Bundles: map[[16]byte]*x3dh.Bundle{}}
	for i := range l.Entries {
		e := &l.Entries[i]
		if BindingValid(l.Account[:], e) {
			v.Bound[e.ID] = true
		} else {
			e.Binding = nil
		}
	}
	for _, bb := range l.Bundles {
		bundle, err := x3dh.ParseBundle(bb)
		if err != nil || bundle.Verify(now) != nil {
			continue
		}
		for _, e := range l.Entries {
			if e.ID == bundle.Identity.ID && e.DH == bundle.Identity.DH && e.Signing == bundle.Identity.Signing && !e.Revoked {
				v.Bundles[e.ID] = bundle
			}
		}
	}
	return v, nil
}

// CheckRules applies the list rules every peer enforces, to a list to sign or received:
// no installation listed twice, at most MaxActive active entries.
func CheckRules(l *List) error {
	active := 0
	seen := make(map[[16]byte]bool, len(l.Entries))
	for _, e := range l.Entries {
		if seen[e.ID] {
			return fmt.Errorf("%w: installation listed twice", ErrInvalid)
		}
		seen[e.ID] = true
		if !e.Revoked {
			active++
		}
	}
	if active > MaxActive {
		return fmt.Errorf("%w: %d active installations, at most %d", ErrInvalid, active, MaxActive)
	}
	return nil
}
