package pages

import "strings"

// cardCompany is how a page names one of Toss's card company codes. Empty
// ko or zh means the English name serves: brand names such as Visa are
// written in Latin letters on Korean pages too (the checkout page's own
// card list does so), and a Korean issuer's own English name is the one a
// reader of Japanese or Chinese can look up.
type cardCompany struct {
	en, ko, zh string
}

// cardCompanies is Toss's card company code table (카드사 코드,
// https://docs.tosspayments.com/codes/org-codes, the codes Payment.card's
// issuerCode and acquirerCode carry; docs/toss-api.md#the-payment-object),
// complete as Toss publishes it. Toss adds codes without notice; one not
// here is shown as the code itself (cardCompanyName).
var cardCompanies = map[string]cardCompany{
	// Overseas card companies: what an international card reports.
	"4V": {en: "Visa"},
	"4M": {en: "Mastercard"},
	"4J": {en: "JCB"},
	"7A": {en: "American Express"},
	// UnionPay's own Chinese brand name; the Chinese checkout page says 银联 too.
	"3C": {en: "UnionPay", zh: "银联"},
	"6D": {en: "Diners Club"},
	"6I": {en: "Discover"},

	// Korean card companies and banks.
	"11": {en: "KB Kookmin Card", ko: "KB국민카드"},
	"41": {en: "Shinhan Card", ko: "신한카드"},
	"51": {en: "Samsung Card", ko: "삼성카드"},
	"61": {en: "Hyundai Card", ko: "현대카드"},
	"71": {en: "Lotte Card", ko: "롯데카드"},
	"31": {en: "BC Card", ko: "BC카드"},
	"21": {en: "Hana Card", ko: "하나카드"},
	// Toss gives Woori two codes by who acquires the payment (33: BC,
	// W1: Woori itself); the buyer's card is Woori's either way.
	"33": {en: "Woori BC Card", ko: "우리BC카드"},
	"W1": {en: "Woori Card", ko: "우리카드"},
	"91": {en: "NH NongHyup Card", ko: "NH농협카드"},
	"3K": {en: "IBK BC Card", ko: "기업 BC"},
	"36": {en: "Citi Card", ko: "씨티카드"},
	"30": {en: "KDB Bank", ko: "KDB산업은행"},
	"46": {en: "Kwangju Bank", ko: "광주은행"},
	"35": {en: "Jeonbuk Bank", ko: "전북은행"},
	"42": {en: "Jeju Bank", ko: "제주은행"},
	"34": {en: "Suhyup Bank", ko: "Sh수협은행"},
	"38": {en: "MG Saemaul Geumgo", ko: "새마을금고"},
	"62": {en: "Shinhyup", ko: "신협"},
	"37": {en: "Korea Post", ko: "우체국예금보험"},
	"39": {en: "Korea Federation of Savings Banks", ko: "저축은행중앙회"},
	"15": {en: "KakaoBank", ko: "카카오뱅크"},
	"3A": {en: "K Bank", ko: "케이뱅크"},
	"24": {en: "Toss Bank", ko: "토스뱅크"},
}

// cardCompanyName names Toss's card company code in l. A code Toss added
// after this table was written is shown as it came (cleaned and bounded,
// for it is still text from outside): a code is less friendly than a name
// but never wrong about which card paid.
func cardCompanyName(l Lang, code string) string {
	code = strings.TrimSpace(code)
	c, ok := cardCompanies[strings.ToUpper(code)]
	if !ok {
		return cleanMessage(code, 64)
	}
	switch l.orDefault() {
	case Korean:
		if c.ko != "" {
			return c.ko
		}
	case Chinese:
		if c.zh != "" {
			return c.zh
		}
	}
	return c.en
}
