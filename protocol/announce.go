package protocol

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/chorus-im/chorus/devicelist"
	"github.com/chorus-im/chorus/protocol/storage"
	"github.com/chorus-im/chorus/protocol/wire"
	"github.com/chorus-im/chorus/topics"
)

// Announcements (spec: protocol, "Identities", "Announcement").
const (
	labelAnnounceSecret = "chorus/v1/protocol/announce-secret"
	labelAnnounce       = "chorus/v1/protocol/announce"
	// AnnounceInterval is the mean time between two scheduled announcements: each is
	// due a uniformly random time in [AnnounceInterval/2, 3·AnnounceInterval/2) after the
	// previous one, and an announcement found overdue when Run starts (the installation
	// was offline) or made due by a new signed prekey is rescheduled to a uniformly random
	// time in the next AnnounceInterval, never published at start.
	AnnounceInterval = 24 * time.Hour
)

// deriveAnnounceSecret is a holder's announcement secret: HKDF-SHA256(ikm = account
// private key (32 bytes), salt = ∅, info = "chorus/v1/protocol/announce-secret", 32).
// Every holder of the account key derives the same secret; linked installations get it
// by contact sync.
func deriveAnnounceSecret(key *ecdsa.PrivateKey) []byte {
	s, err := hkdf.Key(sha256.New, crypto.FromECDSA(key), nil, labelAnnounceSecret, wire.AnnounceSecretSize)
	if err != nil {
		panic("protocol: " + err.Error())
	}
	return s
}

// announceKeys returns the key and topic of an account's announcements under its
// announcement secret: okm = HKDF-SHA256(ikm = secret, salt = account key (65 bytes),
// info = "chorus/v1/protocol/announce", 40); key = okm[0:32], topic =
// announce-<U64(okm[32:40]) mod 64>. A nil secret gives the keys of announcements made
// before announcement secrets (topics.AnnounceKey and topics.AnnounceTopic of the
// account key alone), which are only read, never made.
func announceKeys(accountPub, secret []byte) ([32]byte, string) {
	if secret == nil {
		return topics.AnnounceKey(accountPub), topics.AnnounceTopic(accountPub)
	}
	okm, err := hkdf.Key(sha256.New, secret, accountPub, labelAnnounce, 40)
	if err != nil {
		panic("protocol: " + err.Error())
	}
	part := binary.BigEndian.Uint64(okm[32:40]) % topics.AnnouncePartitions
	return [32]byte(okm[:32]), topics.ContentTopic("announce-" + strconv.FormatUint(part, 10))
}

// Announce publishes our device list (with a bundle offering AnnounceOneTimePrekeys
// one-time prekeys) on our announcement topic, padded and encrypted under our
// announcement secret: only those we gave the secret (contact code, AnnounceKey, our own
// installations) can find, read or attribute it (PRIV2). Run announces on a schedule
// (AnnounceInterval) and whenever our device list changes, never because it started.
// A linked installation that does not know the secret yet announces nothing.
func (c *Client) Announce(ctx context.Context) error {
	var out *storage.OutboxRecord
	err := c.tx(ctx, func(t *txn) error {
		if c.acct == nil {
			return ErrNoAccount
		}
		var err error
		out, err = t.queueAnnounce()
		return err
	})
	if err != nil || out == nil {
		return err
	}
	c.publishIDs(ctx, []*storage.OutboxRecord{out})
	return nil
}

// queueAnnounce stores an announcement of our device list for publishing and schedules the
// next one. It returns nil (nothing queued) while we do not know our secret.
func (t *txn) queueAnnounce() (*storage.OutboxRecord, error) {
	c := t.c
	rec, err := t.Account()
	if err != nil {
		return nil, err
	}
	if len(rec.AnnounceSecret) != wire.AnnounceSecretSize || t.selfRevoked() {
		return nil, nil
	}
	list, err := t.ownDeviceList(AnnounceOneTimePrekeys)
	if err != nil {
		return nil, err
	}
	payload, topic, err := sealAnnounce(c.rand, c.acct.pub, rec.AnnounceSecret, list)
	if err != nil {
		return nil, err
	}
	now := c.now()
	rec.AnnouncedAt = now
	t.setNextAnnounce(rec, now.Add(AnnounceInterval/2+randDuration(c.rand, AnnounceInterval)))
	if err := t.PutAccount(rec); err != nil {
		return nil, err
	}
	return t.queue(topic, payload, nil)
}

// setNextAnnounce records when the next scheduled announcement is due (rec is stored
// by the caller).
func (t *txn) setNextAnnounce(rec *storage.AccountRecord, at time.Time) {
	rec.NextAnnounce = at
	t.onCommit(func() { t.c.nextAnnounce = at })
}

// scheduleAnnounce makes sure an announcement is scheduled at a sane time: one that is
// missing or overdue (we were offline when it was due) is moved to a uniformly random
// time in the next AnnounceInterval, and so is one later than that when soon is set (a
// new signed prekey). rec is stored by the caller if it returns true.
func (t *txn) scheduleAnnounce(rec *storage.AccountRecord, soon bool) bool {
	now := t.c.now()
	if !rec.NextAnnounce.IsZero() && !rec.NextAnnounce.Before(now) && (!soon || rec.NextAnnounce.Before(now.Add(AnnounceInterval))) {
		t.onCommit(func() { t.c.nextAnnounce = rec.NextAnnounce })
		return false
	}
	t.setNextAnnounce(rec, now.Add(randDuration(t.c.rand, AnnounceInterval)))
	return true
}

// randDuration is uniform in [0, d).
func randDuration(r io.Reader, d time.Duration) time.Duration {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil || d <= 0 {
		return d / 2
	}
	return time.Duration(binary.BigEndian.Uint64(b[:]) % uint64(d))
}

// ownAnnounceSecret returns our announcement secret, nil if unknown.
func (t *txn) ownAnnounceSecret() ([]byte, error) {
	rec, err := t.Account()
	if err != nil || len(rec.AnnounceSecret) != wire.AnnounceSecretSize {
		return nil, err
	}
	return rec.AnnounceSecret, nil
}

func announceAD(topic string) []byte { return []byte(topic) }

// sealAnnounce: nonce(24) || XChaCha20-Poly1305(key, nonce, pad(list), ad = topic) with
// key and topic from announceKeys(account, secret); pad = wire.PadAnnounce (a size
// bucket, so the size tells no device count within a bucket).
func sealAnnounce(rand io.Reader, accountPub, secret, list []byte) ([]byte, string, error) {
	key, topic := announceKeys(accountPub, secret)
	padded, err := wire.PadAnnounce(list)
	if err != nil {
		return nil, "", err
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, "", err
	}
	out := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(padded)+chacha20poly1305.Overhead)
	if _, err := io.ReadFull(rand, out); err != nil {
		return nil, "", err
	}
	return aead.Seal(out, out, padded, announceAD(topic)), topic, nil
}

// openAnnounce opens an announcement of accountPub under secret (nil: one made before
// announcement secrets, unpadded) and returns the device list.
func openAnnounce(accountPub, secret, payload []byte) ([]byte, error) {
	if len(payload) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, errNotForUs
	}
	key, topic := announceKeys(accountPub, secret)
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err
	}
	n := chacha20poly1305.NonceSizeX
	pt, err := aead.Open(nil, payload[:n], payload[n:], announceAD(topic))
	if err != nil || secret == nil {
		return pt, err
	}
	return wire.UnpadAnnounce(pt)
}

// FetchContact looks an account up by its key and the announcement secret we hold for
// it (from its contact code, its AnnounceKey message or our other installations): it
// reads the account's announcements from history, verifies them, stores the newest device list
// (with the one-time prekeys its owner offered) and returns the contact. Without a
// secret only announcements made before announcement secrets can be found.
func (c *Client) FetchContact(ctx context.Context, account string) (Contact, error) {
	pub, err := accountPub(account)
	if err != nil {
		return Contact{}, fmt.Errorf("%w: %w", ErrUnknownContact, err)
	}
	var secret []byte
	err = c.tx(ctx, func(t *txn) error {
		if rec, err := t.Contact(account); err == nil {
			secret = rec.AnnounceSecret
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if c.acct != nil && account == c.acct.id {
			secret, err = t.ownAnnounceSecret()
		}
		return err
	})
	if err != nil {
		return Contact{}, err
	}
	_, topic := announceKeys(pub, secret)
	envs, err := c.tr.History(ctx, []string{topic}, c.now().Add(-AnnounceLookback), timeZero)
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
		raw, err := openAnnounce(pub, secret, envs[i].Payload)
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
		return t.storeDeviceList(best, bestRaw, listFrom{owner: true, addContact: true}, c.now())
	})
	if err != nil && !errors.Is(err, ErrUnknownContact) {
		return Contact{}, err
	}
	return c.Contact(ctx, account)
}
