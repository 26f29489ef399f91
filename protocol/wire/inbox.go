package wire

import "golang.org/x/crypto/cryptobyte"

// InboxKind says how an inbox frame's body is to be read.
type InboxKind uint8

// Inbox frame kinds.
const (
	// KindInitial: body = ephemeral(32) || sealed InitialPayload; hint is all zero.
	KindInitial InboxKind = 1
	// KindSession: body = Double Ratchet message; hint names the session direction.
	KindSession InboxKind = 2
)

// InboxFrame is what is published on an inbox topic:
// version(1) || kind(1) || hint(16) || body (the rest, at least one byte).
type InboxFrame struct {
	Kind InboxKind
	Hint [HintSize]byte
	Body []byte
}

// InboxHeaderSize is the size of an inbox frame before its body; the header bytes are the
// associated data of the body's outermost encryption.
const InboxHeaderSize = 2 + HintSize

// Marshal encodes f.
func (f *InboxFrame) Marshal() []byte {
	out := make([]byte, 0, InboxHeaderSize+len(f.Body))
	out = append(out, Version, byte(f.Kind))
	out = append(out, f.Hint[:]...)
	return append(out, f.Body...)
}

// ParseInboxFrame decodes an inbox frame.
func ParseInboxFrame(b []byte) (*InboxFrame, error) {
	if len(b) <= InboxHeaderSize || b[0] != Version {
		return nil, ErrMalformed
	}
	k := InboxKind(b[1])
	if k != KindInitial && k != KindSession {
		return nil, ErrMalformed
	}
	f := &InboxFrame{Kind: k, Body: clone(b[InboxHeaderSize:])}
	copy(f.Hint[:], b[2:InboxHeaderSize])
	if k == KindInitial && f.Hint != ([HintSize]byte{}) {
		return nil, ErrMalformed
	}
	return f, nil
}

// InitialPayload is the sealed content of an initial inbox frame:
// u16<x3dh header> || u32<double ratchet message>.
type InitialPayload struct {
	Header  []byte
	Message []byte
}

// Marshal encodes p.
func (p *InitialPayload) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	addVec16(&b, p.Header)
	addVec32(&b, p.Message)
	return finish(&b)
}

// ParseInitialPayload decodes an InitialPayload.
func ParseInitialPayload(in []byte) (*InitialPayload, error) {
	s := cryptobyte.String(in)
	p := &InitialPayload{}
	if !readVec16(&s, &p.Header) || !readVec32(&s, &p.Message) || !s.Empty() ||
		len(p.Header) == 0 || len(p.Message) == 0 {
		return nil, ErrMalformed
	}
	return p, nil
}

// PairwiseType identifies the body of a pairwise message.
type PairwiseType uint8

// Pairwise message types.
const (
	// PairwiseWelcome: body = Welcome.
	PairwiseWelcome PairwiseType = 1
	// PairwiseDeviceList: body = device list (an update of the list or its bundles).
	PairwiseDeviceList PairwiseType = 2
	// PairwiseDistribution: body = senderkeys distribution (pairwise re-send).
	PairwiseDistribution PairwiseType = 3
	// PairwisePing: empty body; confirms a session so the peer stops sending initials.
	PairwisePing PairwiseType = 4
	// PairwiseLink: body = Link (an account-key holder linking a new installation).
	PairwiseLink PairwiseType = 5
	// PairwiseDevices: body = Devices (device list and metadata among own installations).
	PairwiseDevices PairwiseType = 6
	// PairwiseContacts: body = ContactSync (contacts, their names and announcement
	// secrets, among own installations).
	PairwiseContacts PairwiseType = 7
	// PairwiseAnnounceKey: body = AnnounceKey (the sender account's announcement secret,
	// to a contact).
	PairwiseAnnounceKey PairwiseType = 8
	// 0x09 is reserved for epoch material (key schedule v2: a forwarded contribution or a
	// seed resend), not sent by this engine.
	// PairwiseWelcomeV2: body = WelcomeV2 (key schedule v2).
	PairwiseWelcomeV2 PairwiseType = 10
)

// PairwiseMessage is the plaintext of every Double Ratchet message sent in an inbox frame:
// version(1) || u16<sender device list, empty if absent> || type(1) || u32<body>.
// An initial frame must carry the sender's device list so the recipient can bind the initiating
// installation to an account.
type PairwiseMessage struct {
	DeviceList []byte
	Type       PairwiseType
	Body       []byte
}

// Marshal encodes m.
func (m *PairwiseMessage) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint8(Version)
	addVec16(&b, m.DeviceList)
	b.AddUint8(uint8(m.Type))
	addVec32(&b, m.Body)
	return finish(&b)
}

// ParsePairwiseMessage decodes a PairwiseMessage. An absent device list decodes as nil.
func ParsePairwiseMessage(in []byte) (*PairwiseMessage, error) {
	s := cryptobyte.String(in)
	var v, t uint8
	m := &PairwiseMessage{}
	if !s.ReadUint8(&v) || v != Version || !readVec16(&s, &m.DeviceList) || !s.ReadUint8(&t) ||
		!readVec32(&s, &m.Body) || !s.Empty() {
		return nil, ErrMalformed
	}
	if t < uint8(PairwiseWelcome) || t > uint8(PairwiseWelcomeV2) || t == 9 { // 9: reserved
		return nil, ErrMalformed
	}
	if len(m.DeviceList) == 0 {
		m.DeviceList = nil
	}
	m.Type = PairwiseType(t)
	return m, nil
}

// Welcome invites an installation into a group.
//
//	group id(32) || u16<chat id> || secret(32) || buckets u32 || sent at u64 (unix ms) ||
//	u32<membership update message> || u32<list of u16<device list>> || u32<list of u16<distribution>>
type Welcome struct {
	GroupID       [32]byte
	ChatID        string
	Secret        [32]byte
	Buckets       uint32
	SentAt        uint64
	Membership    []byte
	DeviceLists   [][]byte
	Distributions [][]byte
}

// MaxWelcomeItems bounds the device lists and distributions a Welcome may carry.
const MaxWelcomeItems = 4096

// Marshal encodes w.
func (w *Welcome) Marshal() ([]byte, error) {
	var b cryptobyte.Builder
	b.AddBytes(w.GroupID[:])
	addVec16(&b, []byte(w.ChatID))
	b.AddBytes(w.Secret[:])
	b.AddUint32(w.Buckets)
	b.AddUint64(w.SentAt)
	addVec32(&b, w.Membership)
	addList16(&b, w.DeviceLists)
	addList16(&b, w.Distributions)
	return finish(&b)
}

// ParseWelcome decodes a Welcome.
func ParseWelcome(in []byte) (*Welcome, error) {
	s := cryptobyte.String(in)
	w := &Welcome{}
	var chat []byte
	if !readFixed(&s, w.GroupID[:]) || !readVec16(&s, &chat) || !readFixed(&s, w.Secret[:]) ||
		!s.ReadUint32(&w.Buckets) || !s.ReadUint64(&w.SentAt) || !readVec32(&s, &w.Membership) ||
		!readList16(&s, MaxWelcomeItems, &w.DeviceLists) || !readList16(&s, MaxWelcomeItems, &w.Distributions) ||
		!s.Empty() {
		return nil, ErrMalformed
	}
	w.ChatID = string(chat)
	return w, nil
}
