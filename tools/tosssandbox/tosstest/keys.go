package tosstest

import "slices"

// PaymentKeys returns every paymentKey the sandbox has issued or been given
// (Authorize, WithPaymentKey, the payment window) since it started or was
// last Reset, sorted. A paymentKey is what an attacker needs to look up or
// refund a payment with a leaked secret key, so tests search logs for each
// of them whole; OrderPayments would need every orderId first.
func (s *Sandbox) PaymentKeys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for _, p := range s.book.All() {
		keys = append(keys, p.Key)
	}
	slices.Sort(keys)
	return slices.Compact(keys) // a key given twice (WithPaymentKey) is one
}
