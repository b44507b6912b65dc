package pages

import "sync"

// text holds every sentence a page shows, in one language. A struct rather
// than a map of keys makes a misspelt key a compile error, and the tests
// check by reflection that no language leaves a field empty.
//
// Every page that ends without a payment says that nothing was charged:
// that is the buyer's first worry, and on those pages it is true (the fail
// redirect comes before any confirm; a declined or refused confirm takes no
// money).
type text struct {
	Footer string

	// Labels several pages share come first, then each page's own.
	OrderLabel, OrderIDLabel, AmountLabel       string
	CodeLabel, ProviderMessageLabel, NewWindow  string
	BackToCheckout, TryAgain, ViewReceipt       string
	TryAgainOrOtherCard                         string
	CardLabel, IssuerLabel, ApprovedLabel       string
	ReceiptTitle, ReceiptLead, TossReceipt      string
	CheckoutTitle, CardsNote, PayFmt, PayBusy   string
	ErrLoad, ErrRequest, ErrCanceled, ErrDetail string
	NoScript                                    string
	ProcessingTitle, ProcessingLead, CheckNow   string
	DeclinedTitle                               string
	AmountRefusedTitle, AmountRefusedLead       string
	CanceledTitle, AbortedTitle                 string
	RejectedTitle, RejectedLead                 string
	FailTitle, FailLead                         string
	NotFoundTitle, NotFoundLead                 string
	ExpiredTitle, ExpiredLead                   string
	PaidTitle, PaidLead                         string
	BadRequestTitle, BadRequestLead             string
	UnavailableTitle, UnavailableLead           string
	NoPaymentsTitle, NoPaymentsLead             string
}

// texts is built on first use: JSON functions link this package (through
// shared/api) but never render a page, so they should not carry the tables.
var texts = sync.OnceValue(textTables)

func textTables() map[Lang]*text {
	return map[Lang]*text{
		Korean: {
			Footer:               "결제는 토스페이먼츠를 통해 안전하게 처리돼요.",
			OrderLabel:           "주문 상품",
			OrderIDLabel:         "주문번호",
			AmountLabel:          "결제 금액",
			CodeLabel:            "오류 코드",
			ProviderMessageLabel: "결제 서비스 안내",
			NewWindow:            "(새 창)",
			BackToCheckout:       "결제 페이지로 돌아가기",
			TryAgain:             "다시 결제하기",
			ViewReceipt:          "결제 내역 보기",
			TryAgainOrOtherCard:  "결제된 금액은 없어요. 다시 시도하거나 다른 카드를 사용해 주세요.",
			CardLabel:            "카드",
			IssuerLabel:          "카드사",
			ApprovedLabel:        "승인 일시",
			ReceiptTitle:         "결제가 완료됐어요",
			ReceiptLead:          "결제해 주셔서 감사합니다.",
			TossReceipt:          "카드 영수증 보기",
			CheckoutTitle:        "결제하기",
			CardsNote:            "해외에서 발급된 Visa, Mastercard, JCB, American Express, UnionPay 카드로 결제할 수 있어요.",
			PayFmt:               "%s 결제하기",
			PayBusy:              "결제창을 여는 중…",
			ErrLoad:              "결제 모듈을 불러오지 못했어요. 인터넷 연결을 확인하고 페이지를 새로고침해 주세요.",
			ErrRequest:           "결제창을 열지 못했어요. 잠시 후 다시 시도해 주세요.",
			ErrCanceled:          "결제창을 닫으셨어요. 결제된 금액은 없어요.",
			ErrDetail:            "상세 정보",
			NoScript:             "결제하려면 브라우저에서 JavaScript를 켜 주세요.",
			ProcessingTitle:      "결제를 확인하고 있어요",
			ProcessingLead:       "잠시만 기다려 주세요. 이 페이지는 자동으로 새로고침돼요. 다시 결제하지 마세요.",
			CheckNow:             "지금 확인하기",
			DeclinedTitle:        "결제가 승인되지 않았어요",
			AmountRefusedTitle:   "결제 금액이 주문과 달라요",
			AmountRefusedLead:    "안전을 위해 결제를 진행하지 않았어요. 결제된 금액은 없어요. 결제 페이지에서 다시 시작해 주세요.",
			CanceledTitle:        "결제를 취소했어요",
			AbortedTitle:         "결제를 완료하지 못했어요",
			RejectedTitle:        "카드사에서 결제를 거절했어요",
			RejectedLead:         "카드 정보를 확인하거나 다른 카드를 사용해 주세요. 결제된 금액은 없어요.",
			FailTitle:            "결제가 완료되지 않았어요",
			FailLead:             "결제된 금액은 없어요. 잠시 후 다시 시도해 주세요.",
			NotFoundTitle:        "주문을 찾을 수 없어요",
			NotFoundLead:         "링크가 올바른지 확인해 주세요. 문제가 계속되면 판매자에게 문의해 주세요.",
			ExpiredTitle:         "결제 가능 시간이 지났어요",
			ExpiredLead:          "결제된 금액은 없어요. 다시 주문하려면 판매자에게 문의해 주세요.",
			PaidTitle:            "이미 결제된 주문이에요",
			PaidLead:             "다시 결제하지 않으셔도 돼요.",
			BadRequestTitle:      "요청을 처리할 수 없어요",
			BadRequestLead:       "링크가 올바르지 않거나 일부가 빠졌어요. 결제 페이지에서 다시 시작해 주세요.",
			UnavailableTitle:     "잠시 문제가 생겼어요",
			UnavailableLead:      "일시적인 문제로 요청을 처리하지 못했어요. 몇 분 뒤 다시 시도해 주세요.",
			NoPaymentsTitle:      "지금은 결제할 수 없어요",
			NoPaymentsLead:       "결제된 금액은 없어요. 결제 서비스에 일시적인 문제가 있어요. 잠시 후 다시 시도해 주세요.",
		},
		English: {
			Footer:               "Payments are processed securely by Toss Payments.",
			OrderLabel:           "Order",
			OrderIDLabel:         "Order number",
			AmountLabel:          "Amount",
			CodeLabel:            "Error code",
			ProviderMessageLabel: "Message from the payment service",
			NewWindow:            "(opens in a new window)",
			BackToCheckout:       "Back to checkout",
			TryAgain:             "Try again",
			ViewReceipt:          "View payment",
			TryAgainOrOtherCard:  "Nothing was charged. Please try again or use another card.",
			CardLabel:            "Card",
			IssuerLabel:          "Card company",
			ApprovedLabel:        "Approved",
			ReceiptTitle:         "Payment complete",
			ReceiptLead:          "Thank you. Your payment has been received.",
			TossReceipt:          "View card receipt",
			CheckoutTitle:        "Checkout",
			CardsNote:            "Pay with a Visa, Mastercard, JCB, American Express or UnionPay card issued outside Korea.",
			PayFmt:               "Pay %s",
			PayBusy:              "Opening the payment window…",
			ErrLoad:              "The payment service could not be loaded. Check your connection and reload the page.",
			ErrRequest:           "The payment window could not be opened. Please try again in a moment.",
			ErrCanceled:          "You closed the payment window. Nothing was charged.",
			ErrDetail:            "Details",
			NoScript:             "Please turn on JavaScript in your browser to pay.",
			ProcessingTitle:      "Confirming your payment",
			ProcessingLead:       "This takes a moment. The page refreshes by itself; please don't pay again.",
			CheckNow:             "Check now",
			DeclinedTitle:        "Payment declined",
			AmountRefusedTitle:   "The amount did not match your order",
			AmountRefusedLead:    "For your safety the payment was stopped and nothing was charged. Please start again from the checkout page.",
			CanceledTitle:        "Payment cancelled",
			AbortedTitle:         "The payment could not be completed",
			RejectedTitle:        "Your card company declined the payment",
			RejectedLead:         "Check the card details or use another card. Nothing was charged.",
			FailTitle:            "Payment not completed",
			FailLead:             "Nothing was charged. Please try again in a moment.",
			NotFoundTitle:        "Order not found",
			NotFoundLead:         "Please check the link. If the problem continues, contact the seller.",
			ExpiredTitle:         "This order has expired",
			ExpiredLead:          "Nothing was charged. To order again, please contact the seller.",
			PaidTitle:            "This order is already paid",
			PaidLead:             "There is nothing more to pay.",
			BadRequestTitle:      "We couldn't process this request",
			BadRequestLead:       "The link is incomplete or invalid. Please start again from the checkout page.",
			UnavailableTitle:     "Temporarily unavailable",
			UnavailableLead:      "Something went wrong on our side. Please try again in a few minutes.",
			NoPaymentsTitle:      "Payments are unavailable right now",
			NoPaymentsLead:       "Nothing was charged. The payment service is unavailable for the moment; please try again a little later.",
		},
		Japanese: {
			Footer:               "お支払いはToss Paymentsにより安全に処理されます。",
			OrderLabel:           "ご注文内容",
			OrderIDLabel:         "注文番号",
			AmountLabel:          "お支払い金額",
			CodeLabel:            "エラーコード",
			ProviderMessageLabel: "決済サービスからのメッセージ",
			NewWindow:            "（新しいウィンドウで開きます）",
			BackToCheckout:       "お支払いページに戻る",
			TryAgain:             "もう一度支払う",
			ViewReceipt:          "お支払い内容を見る",
			TryAgainOrOtherCard:  "料金は請求されていません。もう一度お試しいただくか、別のカードをご利用ください。",
			CardLabel:            "カード",
			IssuerLabel:          "カード会社",
			ApprovedLabel:        "承認日時",
			ReceiptTitle:         "お支払いが完了しました",
			ReceiptLead:          "ご購入ありがとうございます。お支払いを受け付けました。",
			TossReceipt:          "カード領収書を表示",
			CheckoutTitle:        "お支払い",
			CardsNote:            "韓国国外で発行されたVisa、Mastercard、JCB、American Express、UnionPayカードでお支払いいただけます。",
			PayFmt:               "%sを支払う",
			PayBusy:              "決済画面を開いています…",
			ErrLoad:              "決済サービスを読み込めませんでした。通信環境をご確認のうえ、ページを再読み込みしてください。",
			ErrRequest:           "決済画面を開けませんでした。しばらくしてからもう一度お試しください。",
			ErrCanceled:          "決済画面が閉じられました。料金は請求されていません。",
			ErrDetail:            "詳細",
			NoScript:             "お支払いにはブラウザのJavaScriptを有効にしてください。",
			ProcessingTitle:      "お支払いを確認しています",
			ProcessingLead:       "少々お待ちください。このページは自動的に更新されます。もう一度お支払いはしないでください。",
			CheckNow:             "今すぐ確認する",
			DeclinedTitle:        "お支払いが承認されませんでした",
			AmountRefusedTitle:   "お支払い金額がご注文と一致しません",
			AmountRefusedLead:    "安全のためお支払いを中止しました。料金は請求されていません。お支払いページからやり直してください。",
			CanceledTitle:        "お支払いをキャンセルしました",
			AbortedTitle:         "お支払いを完了できませんでした",
			RejectedTitle:        "カード会社がお支払いを承認しませんでした",
			RejectedLead:         "カード情報をご確認いただくか、別のカードをご利用ください。料金は請求されていません。",
			FailTitle:            "お支払いは完了していません",
			FailLead:             "料金は請求されていません。しばらくしてからもう一度お試しください。",
			NotFoundTitle:        "ご注文が見つかりません",
			NotFoundLead:         "リンクが正しいかご確認ください。解決しない場合は販売者にお問い合わせください。",
			ExpiredTitle:         "お支払い期限が過ぎました",
			ExpiredLead:          "料金は請求されていません。再度ご注文の際は販売者にお問い合わせください。",
			PaidTitle:            "このご注文はお支払い済みです",
			PaidLead:             "再度お支払いいただく必要はありません。",
			BadRequestTitle:      "このリクエストを処理できません",
			BadRequestLead:       "リンクが不完全か無効です。お支払いページからやり直してください。",
			UnavailableTitle:     "一時的に問題が発生しています",
			UnavailableLead:      "システムで一時的な問題が発生しました。数分後にもう一度お試しください。",
			NoPaymentsTitle:      "現在お支払いいただけません",
			NoPaymentsLead:       "料金は請求されていません。決済サービスが一時的にご利用いただけません。しばらくしてからもう一度お試しください。",
		},
		Chinese: {
			Footer:               "付款由 Toss Payments 安全处理。",
			OrderLabel:           "订单商品",
			OrderIDLabel:         "订单号",
			AmountLabel:          "支付金额",
			CodeLabel:            "错误代码",
			ProviderMessageLabel: "支付服务提示",
			NewWindow:            "（在新窗口中打开）",
			BackToCheckout:       "返回付款页面",
			TryAgain:             "重新付款",
			ViewReceipt:          "查看付款详情",
			TryAgainOrOtherCard:  "未产生任何扣款。请重试或使用其他卡。",
			CardLabel:            "银行卡",
			IssuerLabel:          "发卡机构",
			ApprovedLabel:        "授权时间",
			ReceiptTitle:         "付款成功",
			ReceiptLead:          "感谢您的付款，我们已收到款项。",
			TossReceipt:          "查看刷卡凭证",
			CheckoutTitle:        "付款",
			CardsNote:            "可使用韩国境外发行的 Visa、Mastercard、JCB、American Express、银联卡付款。",
			PayFmt:               "支付 %s",
			PayBusy:              "正在打开支付窗口…",
			ErrLoad:              "无法加载支付服务。请检查网络连接后刷新页面。",
			ErrRequest:           "无法打开支付窗口，请稍后重试。",
			ErrCanceled:          "您已关闭支付窗口，未产生任何扣款。",
			ErrDetail:            "详情",
			NoScript:             "请在浏览器中启用 JavaScript 以完成付款。",
			ProcessingTitle:      "正在确认您的付款",
			ProcessingLead:       "请稍候，本页面会自动刷新。请勿重复付款。",
			CheckNow:             "立即查看",
			DeclinedTitle:        "付款未获批准",
			AmountRefusedTitle:   "支付金额与订单不符",
			AmountRefusedLead:    "为保障您的安全，本次付款已终止，未产生任何扣款。请返回付款页面重新开始。",
			CanceledTitle:        "付款已取消",
			AbortedTitle:         "付款未能完成",
			RejectedTitle:        "发卡机构拒绝了本次付款",
			RejectedLead:         "请检查卡片信息或使用其他卡。未产生任何扣款。",
			FailTitle:            "付款未完成",
			FailLead:             "未产生任何扣款。请稍后重试。",
			NotFoundTitle:        "未找到订单",
			NotFoundLead:         "请检查链接是否正确。如问题仍然存在，请联系商家。",
			ExpiredTitle:         "订单已过期",
			ExpiredLead:          "未产生任何扣款。如需重新下单，请联系商家。",
			PaidTitle:            "该订单已付款",
			PaidLead:             "无需再次付款。",
			BadRequestTitle:      "无法处理此请求",
			BadRequestLead:       "链接不完整或无效。请返回付款页面重新开始。",
			UnavailableTitle:     "服务暂时不可用",
			UnavailableLead:      "系统出现临时问题，请几分钟后重试。",
			NoPaymentsTitle:      "暂时无法付款",
			NoPaymentsLead:       "未产生任何扣款。支付服务暂时不可用，请稍后再试。",
		},
	}
}
