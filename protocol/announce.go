package protocol

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/topics"
)

// Announce publishes our device list (with a bundle offering AnnounceOneTimePrekeys
// one-time prekeys) on our announcement topic, encrypted under topics.AnnounceKey of our
// account key: only someone who knows the account key can read it or tell whose it is
// (PRIV2). Run announces on start and whenever the device list changes.
func (c *Client) Announce(ctx context.Context) error {
	var out *OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return ErrNoAccount
		}
		var err error
		out, err = t.queueAnnounce()
		return err
	})
	if err != nil {
		return err
	}
	c.publishIDs(ctx, []*OutboxRecord{out})
	return nil
}

// queueAnnounce stores an announcement of our device list for publishing.
func (t *txn) queueAnnounce() (*OutboxRecord, error) {
	c := t.c
	list, err := t.ownDeviceList(AnnounceOneTimePrekeys)
	if err != nil {
		return nil, err
	}
	payload, err := sealAnnounce(c.rand, c.acct.pub, list)
	if err != nil {
		return nil, err
	}
	rec, err := t.Account()
	if err != nil {
		return nil, err
	}
	rec.AnnouncedAt = c.now()
	if err := t.PutAccount(rec); err != nil {
		return nil, err
	}
	return t.queue(c.acct.announceTopic(), payload, nil)
}

func announceAD(topic string) []byte { return []byte(topic) }

// sealAnnounce: nonce(24) || XChaCha20-Poly1305(AnnounceKey(account), nonce, device list, ad = topic).
func sealAnnounce(rand io.Reader, accountPub, list []byte) ([]byte, error) {
	key := topics.AnnounceKey(accountPub)
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, chacha20poly1305.NonceSizeX)
	if _, err := io.ReadFull(rand, out); err != nil {
		return nil, err
	}
	return aead.Seal(out, out, list, announceAD(topics.AnnounceTopic(accountPub))), nil
}

func openAnnounce(accountPub, payload []byte) ([]byte, error) {
	if len(payload) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, errNotForUs
	}
	key := topics.AnnounceKey(accountPub)
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	n := chacha20poly1305.NonceSizeX
	return aead.Open(nil, payload[:n], payload[n:], announceAD(topics.AnnounceTopic(accountPub)))
}

// FetchContact looks an account up by its key alone: it reads the account's
// announcements from history, verifies them, stores the newest device list (with the one-time
// prekeys its owner offered) and returns the contact.
func (c *Client) FetchContact(ctx context.Context, account string) (Contact, error) {
	pub, err := accountPub(account)
	if err != nil {
		return Contact{}, fmt.Errorf("%w: %w", ErrUnknownContact, err)
	}
	envs, err := c.tr.History(ctx, []string{topics.AnnounceTopic(pub)}, c.now().Add(-AnnounceLookback), timeZero)
	if err != nil {
		return Contact{}, err
	}
	// Newest first, each payload once; only device lists that open, parse and name the account
	// count against the signature budget (anyone who knows the account key can publish
	// announcements: floods are bounded, not prevented).
	var best *devicelist.Verified
	var bestRaw []byte
	tried, done := 0, map[[32]byte]bool{}
	for i := len(envs) - 1; i >= 0 && tried < MaxAnnounceVerify; i-- {
		h := sha256.Sum256(envs[i].Payload)
		if done[h] {
			continue
		}
		done[h] = true
		raw, err := openAnnounce(pub, envs[i].Payload)
		if err != nil {
			continue
		}
		if list, err := devicelist.Parse(raw); err != nil || !bytes.Equal(list.Account[:], pub) {
			continue
		}
		tried++
		v, err := verifyDeviceList(raw, c.now())
		if err != nil || v.Account != account {
			continue
		}
		if best == nil || v.List.Clock > best.List.Clock {
			best, bestRaw = v, raw
		}
	}
	if best == nil {
		return Contact{}, ErrUnknownContact
	}
	err = c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return ErrNoAccount
		}
		return t.storeDeviceList(best, bestRaw, true, true, c.now())
	})
	if err != nil && !errors.Is(err, ErrUnknownContact) {
		return Contact{}, err
	}
	return c.Contact(ctx, account)
}
