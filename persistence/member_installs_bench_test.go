package persistence

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/chorus-im/chorus/protocol/storage"
)

// BenchmarkMemberInstallations reads the installations of 1000 member accounts (one
// each, with a bundle as device lists give) from a file store, as a group's cached list
// of its members' installations is read again (protocol: memberInstalls, after a restart
// or any installation written): perAccount is InstallationsOf for each account, as it
// was read before MemberInstallations, oneQuery is MemberInstallations.
func BenchmarkMemberInstallations(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "chorus.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	accounts := make([]string, 1000)
	ctx := context.Background()
	if err := s.WithTx(ctx, func(tx storage.StoreTx) error {
		for i := range accounts {
			accounts[i] = fmt.Sprintf("0x04%0128x", i)
			in := storage.InstallationRecord{ID: storage.InstallationID{byte(i), byte(i >> 8)}, Account: accounts[i], Bundle: make([]byte, 600)}
			if err := tx.PutInstallation(&in); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.Run("perAccount", func(b *testing.B) {
		for range b.N {
			if err := s.WithTx(ctx, func(tx storage.StoreTx) error {
				n := 0
				for _, a := range accounts {
					ins, err := tx.InstallationsOf(a)
					if err != nil {
						return err
					}
					n += len(ins)
				}
				if n != len(accounts) {
					b.Fatalf("%d installations", n)
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("oneQuery", func(b *testing.B) {
		for range b.N {
			if err := s.WithTx(ctx, func(tx storage.StoreTx) error {
				ins, err := tx.MemberInstallations(accounts)
				if err != nil {
					return err
				}
				if len(ins) != len(accounts) {
					b.Fatalf("%d installations", len(ins))
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
