package app

// Request parameters (JSON over the socket).
type (
	// GroupParams names a group.
	GroupParams struct {
		Group string `json:"group"`
	}
	// ContactAddParams adds a contact code with an optional local name.
	ContactAddParams struct {
		Code string `json:"code"`
		Name string `json:"name,omitempty"`
	}
	// ContactNameParams names a known account locally (Name "" removes the name).
	ContactNameParams struct {
		Contact string `json:"contact"`
		Name    string `json:"name"`
	}
	// GroupCreateParams creates a group.
	GroupCreateParams struct {
		Name        string   `json:"name"`
		Description string   `json:"description,omitempty"`
		Members     []string `json:"members,omitempty"`
	}
	// GroupMembersParams adds or removes members.
	GroupMembersParams struct {
		Group   string   `json:"group"`
		Members []string `json:"members"`
	}
	// GroupTextParams renames or describes a group.
	GroupTextParams struct {
		Group string `json:"group"`
		Text  string `json:"text"`
	}
	// SendParams sends a text.
	SendParams struct {
		Group string `json:"group"`
		Text  string `json:"text"`
	}
	// ReadParams reads stored messages (oldest first): the newest Limit (0: all)
	// before local order Before (0: up to the newest).
	ReadParams struct {
		Group  string `json:"group"`
		Limit  int    `json:"limit,omitempty"`
		Before int64  `json:"before,omitempty"`
	}
	// DeviceParams names an installation (revoke, remove) or carries a link code and
	// the new device's name (link).
	DeviceParams struct {
		Installation string `json:"installation,omitempty"`
		Code         string `json:"code,omitempty"`
		Name         string `json:"name,omitempty"`
	}
)
