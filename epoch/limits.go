package epoch

import (
	"encoding/hex"
	"errors"
)

// Specification constants (spec/README.md, protocol › "Key schedule v2 (epochs)").
const (
	// Version is the version byte of every structure defined here, but key blocks.
	Version = 2
	// BlockVersion is the version byte of the key blocks made here: their slot hints are
	// AES-based (SlotHint) and a rekey names its author's membership heads and its id
	// commits to its prev and heads (RekeyHeadsID). Blocks of version PrevIDVersion (4:
	// no heads, RekeyID), LegacyIDVersion (3: AES hints, LegacyRekeyID) and of version
	// Version (2, SHA-256 hints: LegacySlotHint, LegacyRekeyID) are still read
	// (KeyBlock.LegacyHeads, KeyBlock.LegacyID, KeyBlock.LegacyHints).
	BlockVersion = 5
	// PrevIDVersion is the version of the key blocks whose rekeys name no membership heads
	// and whose rekey ids are RekeyID's (made before auth9).
	PrevIDVersion = 4
	// LegacyIDVersion is the version of the key blocks whose rekey ids are LegacyRekeyID's
	// (made before welid) with AES-based slot hints.
	LegacyIDVersion = 3
	// JoinVersion is the version byte of the joins made here: their rekey entries carry
	// their author and nonce (JoinEntry.Rekey). Joins of version Version are still read.
	JoinVersion = 3

	// MaxFrontier bounds the key events of one frontier (mutually concurrent key events)
	// and the prev set a key event names.
	MaxFrontier = 32

	// MaxLiveEpochs bounds the epochs whose secrets a Schedule keeps: the current one and
	// the previous ones, oldest retired first.
	MaxLiveEpochs = 4

	// MaxKnownEvents bounds the key event ids a Schedule remembers (applied or named as
	// prev); beyond it Apply refuses with ErrTooManyEvents.
	MaxKnownEvents = 1 << 16

	// MaxUnseenPerAuthor bounds the key event ids a Schedule holds on one author's word
	// (ApplyKnown, ApplyWelcomed): ids an applied event of that author named first as prev
	// and that were never applied (unseen), and join entries of its Welcomes not seen in a
	// key block since. Beyond it the author's received key event (or Welcome) naming more
	// waits (ErrUnknownPrev) until those events are applied; other authors' events do not.
	MaxUnseenPerAuthor = 512

	// MaxUnseenPrev bounds the ids held on all authors' words together, with the unseen ids
	// no author is held to (a newcomer's join, a state stored by an older version, Refuse):
	// the memory bound (MaxUnseenPrev / MaxUnseenPerAuthor = 32 full budgets), a quarter
	// of MaxKnownEvents, so that held ids never fill it. Joins (NewScheduleFromJoin, Apply)
	// are not bounded by it.
	MaxUnseenPrev = 1 << 14

	// MaxParts bounds the parts a key block is split into.
	MaxParts = 1024

	// IDSize is the size of a key event id, an epoch id and every secret.
	IDSize = 32
	// InstallationSize is the size of an installation id.
	InstallationSize = 16
	// HintSize is the size of a slot hint.
	HintSize = 16
	// NonceSize is the size of a rekey nonce.
	NonceSize = 16
	// SeedSlotSize is the size of a seed slot plaintext.
	SeedSlotSize = 2 + IDSize
	// OuterOverhead is how much longer an outer payload is than its frame.
	OuterOverhead = 1 + 24 + 16
)

// Key block kinds.
const (
	// KindMembership marks a key block whose key event is a membership event (its id is
	// the event digest; the event rides in the same frame).
	KindMembership = 0x01
	// KindRekey marks a rekey; its id is RekeyHeadsID(group, author, nonce, prev, heads)
	// (version 5), RekeyID(group, author, nonce, prev) (version 4), LegacyRekeyID(group,
	// author, nonce) (versions 3 and 2).
	KindRekey = 0x02
)

// Slot plaintext kinds.
const (
	// SlotSeed is a seed in a key block slot.
	SlotSeed = 0x01
	// SlotContribution is a forwarded contribution x_E(F), sent pairwise.
	SlotContribution = 0x02
	// SlotSeedResend is a seed re-sent pairwise to a recipient of its event.
	SlotSeedResend = 0x03
)

// Slot kinds inside a key block.
const (
	// SlotSession is a slot sealed on an established pairwise session.
	SlotSession = 0x00
	// SlotInitial is a slot that starts a session (X3DH header included).
	SlotInitial = 0x01
	// SlotInitialCompact is a slot that starts a session whose initiator is the block's
	// author: its X3DH header travels without the initiator identity (x3dh compact
	// form), which the receiver takes from the author's installation.
	SlotInitialCompact = 0x02
)

// Labels (spec/README.md, "Derivation").
const (
	labelEpochID      = "chorus/v2/epoch/epoch-id"
	labelContribution = "chorus/v2/epoch/contribution"
	labelEpochSecret  = "chorus/v2/epoch/epoch-secret"
	labelOuterKey     = "chorus/v2/epoch/outer-key"
	labelSenderChain  = "chorus/v2/epoch/sender-chain"
	labelSlotHint     = "chorus/v2/epoch/slot-hint"
	labelSlotHintKey  = "chorus/v2/epoch/slot-hint-key"
	labelSlotContext  = "chorus/v2/epoch/slot-context"
	labelRekeyID      = "chorus/v2/epoch/rekey-id"
	labelRekeyPrevID  = "chorus/v2/epoch/rekey-prev-id"
	labelRekeyHeadsID = "chorus/v2/epoch/rekey-heads-id"
	labelConfirmation = "chorus/v2/epoch/confirmation"
	labelMemberPrev   = "chorus/v2/epoch/member-prev"
	labelMessageKeys  = "chorus/v1/senderkeys/message-keys"
)

// Sentinel errors. Errors returned by this package wrap one of them (errors.Is).
var (
	// ErrMalformed reports an encoding or argument that does not follow the specification.
	ErrMalformed = errors.New("epoch: malformed input")
	// ErrUnsupportedVersion reports a structure of another version.
	ErrUnsupportedVersion = errors.New("epoch: unsupported version")
	// ErrDuplicate reports a key event already applied.
	ErrDuplicate = errors.New("epoch: key event already applied")
	// ErrFrontierFull reports a key event that would make the frontier exceed MaxFrontier.
	ErrFrontierFull = errors.New("epoch: frontier full")
	// ErrUnknownPrev reports a received key event (or Welcome join entry) that would hold
	// more ids on its author's word than MaxUnseenPerAuthor, or more than MaxUnseenPrev in
	// all (ApplyKnown, ApplyWelcomed): it waits until the events it names are applied.
	ErrUnknownPrev = errors.New("epoch: prev names an unknown key event")
	// ErrTooManyEvents reports a schedule that would remember more than MaxKnownEvents ids.
	ErrTooManyEvents = errors.New("epoch: too many key events")
	// ErrSuperseded reports a seed or contribution for an event not in the frontier, or a
	// contribution computed for another frontier.
	ErrSuperseded = errors.New("epoch: event not in the current frontier")
	// ErrIncomplete reports an epoch that cannot be computed yet (see Schedule.Missing).
	ErrIncomplete = errors.New("epoch: seeds missing for the current frontier")
	// ErrMismatch reports a rekey id that does not match its nonce, or a seed for another
	// event than the one named.
	ErrMismatch = errors.New("epoch: mismatch")
	// ErrDecrypt reports an outer payload that no live epoch opens.
	ErrDecrypt = errors.New("epoch: payload authentication failed")
	// ErrRetracted reports a key event that was retracted, or whose prev names one
	// (Schedule.Retract): refused, the schedule unchanged.
	ErrRetracted = errors.New("epoch: key event retracted or naming a retracted event")
	// ErrUncommitted reports a key event whose id does not commit to its prev (a rekey of
	// a key block of version 3 or 2, a membership key event without the epoch prev digest
	// naming a prev: spec "Frontier", cycles of prev), not applied before: refused for good.
	ErrUncommitted = errors.New("epoch: key event id does not commit to its prev")
)

// ID is a key event id (a membership event digest or a rekey id), an epoch id, or any
// 32-byte value named by the specification.
type ID [IDSize]byte

// String returns the id in lowercase hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Installation is an installation id.
type Installation [InstallationSize]byte

// Seed is the fresh secret of one key event.
type Seed [IDSize]byte

// Message layer bounds (spec: "Messages").
const (
	// HeaderSize is the size of a v2 message header: version, sender installation, iteration.
	HeaderSize = 1 + InstallationSize + 4
	// SignatureSize is the size of a message signature (R || S).
	SignatureSize = 64
	// MessageOverhead is how much longer a message is than its plaintext.
	MessageOverhead = HeaderSize + 16 + SignatureSize
	// MaxSkippedKeys bounds the message keys a receiver chain stores for skipped
	// iterations; the lowest are evicted first.
	MaxSkippedKeys = 2000
	// MaxForwardJump bounds how far one message may jump ahead of the next iteration.
	MaxForwardJump = 25000

	labelMessageSignature = "chorus/v2/epoch/message-signature"
	labelBlockSignature   = "chorus/v2/epoch/key-block-signature"
	maxIteration          = ^uint32(0)
)

// Message errors.
var (
	// ErrBadSignature reports a message whose signature does not verify under the sender
	// installation's signing key.
	ErrBadSignature = errors.New("epoch: bad message signature")
	// ErrReplay reports an iteration already opened, evicted, or below the chain's start.
	ErrReplay = errors.New("epoch: iteration already used or no longer available")
	// ErrTooFarAhead reports a message more than MaxForwardJump iterations ahead.
	ErrTooFarAhead = errors.New("epoch: iteration too far ahead")
	// ErrChainExhausted reports a sending chain whose iterations are used up.
	ErrChainExhausted = errors.New("epoch: chain exhausted")
)
