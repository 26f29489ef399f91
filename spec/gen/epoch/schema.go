// The vectors file's schema: what spec/vectors/epoch.json holds (spec/README.md,
// "Conformance vectors").

package main

// Event is a key event applied by an `epoch` case, with its seed if the case holds it.
type Event struct {
	ID   string   `json:"id"`
	Prev []string `json:"prev,omitempty"`
	Seed string   `json:"seed,omitempty"`
}

// Contribution is a forwarded contribution x_E(F).
type Contribution struct {
	ID       string   `json:"id"`
	Frontier []string `json:"frontier"`
	X        string   `json:"x"`
}

// Keys is the AEAD key and nonce of one iteration.
type Keys struct {
	Key   string `json:"key"`
	Nonce string `json:"nonce"`
}

// Chain is one installation's sending chain in the case's epoch.
type Chain struct {
	Installation string `json:"installation"`
	SenderChain  string `json:"sender_chain"`
	MessageKeys  []Keys `json:"message_keys"`
}

// Case is one vector; which fields are set depends on Op (spec/README.md, "Conformance
// vectors" of the key schedule v2). Zero and empty fields are omitted.
type Case struct {
	Name   string `json:"name"`
	Op     string `json:"op"`
	Expect string `json:"expect"`

	Group         string         `json:"group,omitempty"`
	Events        []Event        `json:"events,omitempty"`
	Contributions []Contribution `json:"contributions,omitempty"`
	Frontier      []string       `json:"frontier,omitempty"`
	EpochID       string         `json:"epoch_id,omitempty"`
	EpochSecret   string         `json:"epoch_secret,omitempty"`
	OuterKey      string         `json:"outer_key,omitempty"`
	Chains        []Chain        `json:"chains,omitempty"`

	Seed         string   `json:"seed,omitempty"`
	Event        string   `json:"event,omitempty"`
	X            string   `json:"x,omitempty"`
	Installation string   `json:"installation,omitempty"`
	Author       string   `json:"author,omitempty"`
	Kind         int      `json:"kind,omitempty"`
	Nonce        string   `json:"nonce,omitempty"`
	Prev         []string `json:"prev,omitempty"`
	Heads        []string `json:"heads,omitempty"`
	Output       string   `json:"output,omitempty"`
	Confirmation string   `json:"confirmation,omitempty"`

	SigningPrivateKey string   `json:"signing_private_key,omitempty"`
	SigningKey        string   `json:"signing_key,omitempty"`
	Plaintext         *string  `json:"plaintext,omitempty"`
	Setup             []string `json:"setup,omitempty"`
	Message           string   `json:"message,omitempty"`
	Gaps              []Gap    `json:"gaps,omitempty"`

	Encoding string `json:"encoding,omitempty"`
	Topic    string `json:"topic,omitempty"`
	Payload  string `json:"payload,omitempty"`
	Frame    string `json:"frame,omitempty"`
}

// Gap is a run [From, To) of iterations not seen.
type Gap struct {
	From uint32 `json:"from"`
	To   uint32 `json:"to"`
}

// File is the vectors file.
type File struct {
	Description string `json:"description"`
	Cases       []Case `json:"cases"`
}
