package app

import "context"

// ContactVerifyParams names the contact whose safety number to show.
type ContactVerifyParams struct {
	Contact string `json:"contact"`
}

// SafetyView is the safety number of our account and a contact's (spec "Safety numbers").
type SafetyView struct {
	Contact      string `json:"contact"` // the contact's account id
	Name         string `json:"name,omitempty"`
	SafetyNumber string `json:"safety_number"` // 60 digits
}

// VerifyContact returns the safety number shared with a contact (name, id or id prefix).
func (s *Service) VerifyContact(ctx context.Context, p ContactVerifyParams) (SafetyView, error) {
	id, err := s.ResolveAccount(ctx, p.Contact)
	if err != nil {
		return SafetyView{}, err
	}
	n, err := s.c.SafetyNumber(id)
	if err != nil {
		return SafetyView{}, Classify(err)
	}
	return SafetyView{Contact: id, Name: s.contactName(ctx, id), SafetyNumber: n}, nil
}
