package persistence

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// TestDeviceRecords: the multi-device fields of the account (a linked installation has
// no private key; a pending link has no public key) and the metadata of installations
// survive a round trip and a reopen, in memory and in a file.
func TestDeviceRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chorus.db")
	for _, p := range []string{":memory:", path} {
		s, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		acct := &storage.AccountRecord{PublicKey: bytes.Repeat([]byte{4}, 65), Identity: []byte{2}, DeviceListClock: 5,
			DeviceList: []byte("list"), NextPrekeyID: 3, CreatedAt: t0, LinkSecret: bytes.Repeat([]byte{7}, 16), LinkUntil: t0}
		in := &storage.InstallationRecord{ID: storage.InstallationID{9}, Account: "0x04aa", Revoked: true, UpdatedAt: t0,
			Name: "Alice's laptop", Platform: "linux", AddedAt: t0, Binding: bytes.Repeat([]byte{6}, 64)}
		inTx(t, s, func(tx storage.StoreTx) error {
			if err := tx.PutAccount(acct); err != nil {
				return err
			}
			return tx.PutInstallation(in)
		})
		check := func(s *Store) {
			inTx(t, s, func(tx storage.StoreTx) error {
				a, err := tx.Account()
				if err != nil {
					return err
				}
				if a.PrivateKey != nil || !bytes.Equal(a.PublicKey, acct.PublicKey) || !bytes.Equal(a.DeviceList, acct.DeviceList) ||
					!bytes.Equal(a.LinkSecret, acct.LinkSecret) || !a.LinkUntil.Equal(t0) || a.DeviceListClock != 5 {
					t.Fatalf("account %+v", a)
				}
				got, err := tx.Installation(in.ID)
				if err != nil {
					return err
				}
				if got.Name != in.Name || got.Platform != in.Platform || !got.AddedAt.Equal(t0) || !got.Revoked || !bytes.Equal(got.Binding, in.Binding) {
					t.Fatalf("installation %+v", got)
				}
				return nil
			})
		}
		check(s)
		s.Close()
		if p == path {
			s, err = Open(p)
			if err != nil {
				t.Fatal(err)
			}
			check(s)
			s.Close()
		}
	}

	// A pending link: neither key.
	s, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	inTx(t, s, func(tx storage.StoreTx) error {
		if err := tx.PutAccount(&storage.AccountRecord{Identity: []byte{2}, LinkSecret: bytes.Repeat([]byte{7}, 16), NextPrekeyID: 1}); err != nil {
			return err
		}
		a, err := tx.Account()
		if err != nil || a.PrivateKey != nil || a.PublicKey != nil || a.DeviceList != nil || len(a.LinkSecret) != 16 {
			t.Fatalf("pending account %+v %v", a, err)
		}
		return nil
	})
}
