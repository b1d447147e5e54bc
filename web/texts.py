"""The voter and observer pages' texts, Japanese first. Keys starting ``js.`` are also
handed to the page scripts (as JSON data, never as inline script)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "site.name": {"ja": "つくば市 市民投票", "en": "Tsukuba citizens' vote"},
    "site.skip": {"ja": "本文へ移動", "en": "Skip to content"},
    "site.nav": {"ja": "メインメニュー", "en": "Main menu"},
    "site.footer": {
        "ja": "エンドツーエンド検証可能な投票システム tohyo。誰でも選挙記録を検証できます。",
        "en": "tohyo, an end-to-end verifiable voting system. Anyone can verify the record.",
    },
    "nav.booth": {"ja": "投票する", "en": "Vote"},
    "nav.verify": {"ja": "投票を確認", "en": "Verify my ballot"},
    "nav.board": {"ja": "掲示板", "en": "Bulletin board"},
    "nav.results": {"ja": "結果", "en": "Results"},
    "nav.trustees": {"ja": "保管者", "en": "Trustees"},
    "state.setup": {"ja": "選挙はまだ準備中です。", "en": "The election is being prepared."},
    "state.ready": {"ja": "投票はまだ始まっていません。", "en": "Voting has not started yet."},
    "state.open": {"ja": "投票受付中です。", "en": "Voting is open."},
    "state.closed": {"ja": "投票は終了しました。", "en": "Voting has closed."},
    "home.title": {"ja": "市民投票", "en": "Citizens' vote"},
    "home.period": {"ja": "投票期間: {start} 〜 {end}", "en": "Voting period: {start} to {end}"},
    "home.vote": {"ja": "投票する", "en": "Vote"},
    "home.verify": {
        "ja": "自分の投票が掲示板にあるか確認する",
        "en": "Check my ballot is on the board",
    },
    "home.board": {"ja": "公開掲示板を見る", "en": "Browse the public bulletin board"},
    "home.results": {"ja": "結果を見る", "en": "See the results"},
    "home.prepare": {"ja": "用意するもの", "en": "What you need"},
    "home.prepare.card": {
        "ja": "マイナンバーカード（署名用電子証明書が有効なもの）",
        "en": "Your My Number Card (with a valid signing certificate)",
    },
    "home.prepare.password": {
        "ja": "署名用電子証明書のパスワード（英数字6〜16桁。5回間違えるとロックされます）",
        "en": "The signing certificate's password (6 to 16 letters and digits; five wrong tries "
        "lock it)",
    },
    "home.prepare.device": {
        "ja": "カードを読み取れるスマートフォン、またはカードリーダーをつないだパソコン",
        "en": "A phone that reads the card, or a PC with a card reader",
    },
    "home.how": {"ja": "投票の流れ", "en": "How voting works"},
    "home.how1": {
        "ja": "分野を選び、サービスを1つ選びます（選ばないこともできます）。",
        "en": "Choose a category, then one service (or none).",
    },
    "home.how2": {
        "ja": "選択はあなたの端末の中で暗号化されます。確認コードが表示されます。",
        "en": "Your choice is encrypted on your own device and a confirmation code is shown.",
    },
    "home.how3": {
        "ja": "マイナンバーカードで署名すると投票が送信されます。暗号化しただけでは投票されません。",
        "en": "Signing with your My Number Card casts the ballot. Encrypting alone does not.",
    },
    "home.how4": {
        "ja": "受領証で、あなたの投票が掲示板に載っていることをいつでも確認できます。",
        "en": "With your receipt you can check at any time that your ballot is on the board.",
    },
    # booth
    "booth.title": {"ja": "投票", "en": "Vote"},
    "booth.noscript": {
        "ja": "投票にはJavaScriptが必要です（暗号化はあなたの端末で行います）。",
        "en": "Voting needs JavaScript: your choice is encrypted on your own device.",
    },
    "booth.steps": {"ja": "投票の手順", "en": "Voting steps"},
    "booth.step.receipt": {"ja": "受領証", "en": "Receipt"},
    "booth.categories": {"ja": "分野を選んでください", "en": "Choose a category"},
    "booth.categories.help": {
        "ja": "分野ごとに1回ずつ投票します。同じ分野にもう一度投票すると、最後の投票が有効になります。",
        "en": "You vote in each category separately. If you vote again in a category, "
        "your last ballot counts.",
    },
    "booth.pick1": {
        "ja": "サービスを1つ選ぶか、「選ばない」を選んでください。",
        "en": "Choose one service, or choose “none”.",
    },
    "booth.pickn": {"ja": "{n}つまで選べます。", "en": "Choose up to {n}."},
    "booth.blank": {"ja": "選ばない（白票）", "en": "None (blank vote)"},
    "booth.blank.help": {
        "ja": "この分野ではどのサービスにも投票しません。",
        "en": "You vote for no service in this category.",
    },
    "booth.back": {"ja": "分野の選択に戻る", "en": "Back to categories"},
    "booth.change": {"ja": "選び直す", "en": "Change"},
    "booth.challenged": {"ja": "チャレンジしました", "en": "Challenged"},
    "booth.challenged.notcast": {
        "ja": "この暗号文は開封されたため、投票には使われません。",
        "en": "This ballot was opened, so it will not be counted.",
    },
    "booth.challenged.decrypted": {"ja": "暗号文の中身:", "en": "The ballot contained:"},
    "booth.challenged.second": {
        "ja": "別の端末でも確認できます（このリンクまたはQRコード）:",
        "en": "Check it on a second device too (this link or QR code):",
    },
    "booth.qr.alt": {
        "ja": "チャレンジした暗号文を確認するページのQRコード",
        "en": "QR code of the page that checks the challenged ballot",
    },
    "booth.sign.file": {
        "ja": "模擬カード（デモ・試験用）",
        "en": "Simulated card (demo and tests)",
    },
    "booth.sign.file.help": {
        "ja": "試験用認証局が発行した模擬カードのファイルと暗証番号で署名します。",
        "en": "Sign with a simulated card file from the stand-in CA and its password.",
    },
    "booth.card.file": {"ja": "模擬カードのファイル", "en": "Simulated card file"},
    "booth.card.password": {
        "ja": "署名用パスワード（6〜16桁の英数字）",
        "en": "Signing password (6–16 letters and digits)",
    },
    "booth.demo.cards": {"ja": "デモ用の模擬カード", "en": "Demo cards"},
    "booth.app.wait": {
        "ja": "署名アプリでの署名を待っています…",
        "en": "Waiting for the signing app…",
    },
    "booth.app.pairing": {
        "ja": "署名アプリにこの照合番号を入力してください:",
        "en": "Type this pairing number into the signing app:",
    },
    "booth.app.qr.alt": {
        "ja": "署名アプリで読み取るQRコード",
        "en": "QR code for the signing app",
    },
    "booth.reader.missing": {
        "ja": "このパソコンで署名ソフト（tohyo signer）が動いていません。起動してから"
        "「署名して投票する」を押すか、別の方法を選んでください。",
        "en": "The signer (tohyo signer) is not running on this PC. Start it and press "
        "“Sign and cast”, or choose another way.",
    },
    "booth.reader.wait": {
        "ja": "署名ソフトの画面で確認コードを見比べ、署名用パスワードを入力してください。"
        "署名を待っています…",
        "en": "In the signer's window, compare the confirmation code and enter the signing "
        "password. Waiting for the signature…",
    },
    "booth.reader.open": {
        "ja": "署名ソフトの画面を開く",
        "en": "Open the signer's window",
    },
    "booth.sign.go": {"ja": "署名して投票する", "en": "Sign and cast"},
    "booth.cancel": {"ja": "やめる（投票しない）", "en": "Cancel (do not cast)"},
    "booth.accepted": {"ja": "投票を受け付けました", "en": "Your ballot was accepted"},
    # the booth as the city's leaflet draws it: field, service, confirm and sign, receipt
    "booth.step.field": {"ja": "分野を選ぶ", "en": "Category"},
    "booth.step.choose": {"ja": "サービスを選ぶ", "en": "Service"},
    "booth.step.sign": {"ja": "確かめて署名", "en": "Check and sign"},
    "booth.next": {"ja": "次へ（内容の確認）", "en": "Next: check your choice"},
    "booth.confirm": {
        "ja": "選んだ内容を確かめて、マイナンバーカードで署名",
        "en": "Check your choice, then sign with your My Number Card",
    },
    "booth.notcast": {
        "ja": "まだ投票されていません。マイナンバーカードで署名すると投票されます。",
        "en": "Not cast yet. Your vote is cast when you sign with your My Number Card.",
    },
    "booth.confirm.contest": {"ja": "分野", "en": "Category"},
    "booth.confirm.choice": {"ja": "あなたの選択", "en": "Your choice"},
    "booth.code": {"ja": "確認コード", "en": "Confirmation code"},
    "booth.code.help": {
        "ja": "あなたの端末が暗号化した票の番号です。受領証にも載り、署名アプリや署名ソフトの"
        "画面にも同じ番号が出ます。選んだ内容はこの番号からは分かりません。",
        "en": "The number of the ballot your device encrypted. It is on your receipt, and the "
        "signing app or the signer shows the same one. It says nothing of your choice.",
    },
    "booth.sign.how": {
        "ja": "カードをどれで読み取りますか",
        "en": "What will read your card?",
    },
    "booth.sign.native": {
        "ja": "このスマートフォン",
        "en": "This phone",
    },
    "booth.sign.native.help": {
        "ja": "いま使っているスマートフォンがマイナンバーカードを読み取れるとき。",
        "en": "When the phone you are using reads My Number Cards.",
    },
    "booth.sign.reader": {
        "ja": "このパソコンにつないだカードリーダー",
        "en": "A card reader on this PC",
    },
    "booth.sign.reader.help": {
        "ja": "ICカードリーダーと、署名ソフト（tohyo signer）があるとき。",
        "en": "When you have a smart-card reader and the signer (tohyo signer).",
    },
    "booth.sign.app": {
        "ja": "別のスマートフォン",
        "en": "Another phone",
    },
    "booth.sign.app.help": {
        "ja": "この端末ではカードを読めず、カードを読み取れるスマートフォンに「市民投票アプリ」"
        "があるとき。",
        "en": "When this device cannot read the card and a phone that reads cards has the "
        "citizens' vote app.",
    },
    "booth.hold.native": {
        "ja": "「署名して投票する」を押し、署名用パスワードを入れてから、カードをこのスマートフォンの"
        "背面（カメラの近く）に当てて、終わるまで動かさないでください。",
        "en": "Press “Sign and cast”, enter your signing password, then hold the card against "
        "the back of this phone (near the camera) and keep it still until it is done.",
    },
    "booth.hold.reader": {
        "ja": "カードをカードリーダーに置いて（差し込んで）から「署名して投票する」を押します。"
        "開いた署名ソフトの画面で確認コードを見比べ、署名用パスワードを入れてください。",
        "en": "Put the card on (or into) the reader, then press “Sign and cast”. In the "
        "signer's window that opens, compare the confirmation code and enter your signing "
        "password.",
    },
    "booth.hold.app": {
        "ja": "「署名して投票する」を押すとQRコードが出ます。もう1台のスマートフォンの"
        "「市民投票アプリ」で読み取り、照合番号を入れ、カードをそのスマートフォンの背面"
        "（カメラの近く）に当ててください。",
        "en": "Press “Sign and cast” and a QR code appears. Scan it with the citizens' vote "
        "app on the other phone, type the pairing number, and hold the card against the back "
        "of that phone (near the camera).",
    },
    "booth.other_card": {
        "ja": "別のカードで署名する",
        "en": "Sign with another card",
    },
    "booth.challenge.what": {
        "ja": "暗号化が正しいか確かめる（必要な人だけ）",
        "en": "Check the encryption (only if you want to)",
    },
    "booth.challenge.explain": {
        "ja": "この端末が、あなたの選んだとおりに暗号化したかを確かめられます。確かめた暗号文は"
        "中身を公開するので投票には使えず、もう一度選んで投票することになります。ふつうは"
        "必要ありません。",
        "en": "You can check that this device encrypted what you chose. The ballot you check "
        "is opened, so it can never be cast: you then choose again and cast a new one. Most "
        "voters do not need this.",
    },
    "booth.challenge": {
        "ja": "この暗号文を開いて確かめる（投票には使いません）",
        "en": "Open this ballot to check it (it will not be cast)",
    },
    "booth.challenge.resumed": {
        "ja": "ページを読み込み直したため、この暗号文は開けません。確かめたいときは"
        "「選び直す」を押してください。",
        "en": "The page was reloaded, so this ballot can no longer be opened. To check the "
        "encryption, press “Change” and choose again.",
    },
    "booth.restart": {"ja": "もう一度選ぶ", "en": "Choose again"},
    "booth.another": {"ja": "分野の一覧に戻る", "en": "Back to the categories"},
    "receipt.title": {"ja": "受領証", "en": "Receipt"},
    "receipt.election": {"ja": "選挙", "en": "Election"},
    "receipt.contest": {"ja": "分野", "en": "Category"},
    "receipt.time": {"ja": "受付時刻", "en": "Received"},
    "receipt.keep": {
        "ja": "受領証には、あなたが何を選んだかは書かれていません。確認コードで、いつでも"
        "投票が掲示板にあることを確かめられます。",
        "en": "The receipt does not say what you chose. With the confirmation code you can "
        "check at any time that your ballot is on the board.",
    },
    "receipt.technical": {"ja": "技術的な情報", "en": "Technical details"},
    "receipt.image": {"ja": "画像で保存", "en": "Save as an image"},
    "receipt.save": {
        "ja": "検証用ファイル（JSON）を保存",
        "en": "Save the file for checking (JSON)",
    },
    "receipt.left": {"ja": "まだ投票していない分野", "en": "Categories you have not voted in"},
    "receipt.left.none": {
        "ja": "この端末から、すべての分野に投票しました。",
        "en": "From this device, you have voted in every category.",
    },
    "receipt.code": {"ja": "確認コード", "en": "Confirmation code"},
    "receipt.entry": {"ja": "掲示板の番号", "en": "Board entry"},
    "receipt.head": {"ja": "署名付きツリーヘッド", "en": "Signed tree head"},
    "receipt.boardkey": {"ja": "掲示板の公開鍵", "en": "Board's public key"},
    "receipt.boardkey.help": {
        "ja": "この公開鍵が、市が別の手段（ウェブサイト、広報など）で公表した鍵と同じであることを確かめてください。",
        "en": "Check that this key is the one the city published elsewhere (its web site, "
        "the press release).",
    },
    "receipt.witnesses": {
        "ja": "確認した立会人",
        "en": "Witnesses who confirmed the board",
    },
    "receipt.print": {"ja": "印刷", "en": "Print"},
    "receipt.verify": {"ja": "確認ページで検証", "en": "Check on the verify page"},
    # verify page
    "verify.title": {"ja": "投票の確認", "en": "Verify a ballot"},
    "verify.help": {
        "ja": "確認コードを入力すると、このブラウザが掲示板から証明を取得し、あなたの投票が"
        "署名付きの掲示板に含まれていること、暗号文の証明が正しいことを自分で検証します。",
        "en": "Enter a confirmation code: this browser fetches the proofs from the board and "
        "checks by itself that the ballot is in the signed board and that its proofs hold.",
    },
    "verify.code": {
        "ja": "確認コード（受領証の8文字「XXXX-XXXX」か、64桁の完全なコード）",
        "en": "Confirmation code (the 8 characters XXXX-XXXX on your receipt, or the full "
        "64-digit code)",
    },
    "verify.go": {"ja": "検証する", "en": "Verify"},
    "verify.results": {"ja": "検証結果", "en": "Result"},
    # board browser
    "board.title": {"ja": "公開掲示板", "en": "Public bulletin board"},
    "board.help": {
        "ja": "掲示板には暗号化された投票と選挙の出来事が順に記録され、削除も変更もできません"
        "（Merkle木による透明性ログ）。投票者の個人情報は載りません。",
        "en": "The board records encrypted ballots and election events in order; nothing "
        "can be removed or changed (a Merkle-tree transparency log). No personal data is on it.",
    },
    "board.size": {"ja": "記録数: {n}", "en": "Entries: {n}"},
    "board.search": {"ja": "確認コードで検索", "en": "Search by confirmation code"},
    "board.search.go": {"ja": "検索", "en": "Search"},
    "board.notfound": {
        "ja": "その確認コードの投票は掲示板にありません。",
        "en": "No ballot with that confirmation code is on the board.",
    },
    "board.found": {"ja": "見つかりました", "en": "Found"},
    "board.entries": {"ja": "記録", "en": "Entries"},
    "board.col.index": {"ja": "番号", "en": "Index"},
    "board.col.kind": {"ja": "種類", "en": "Kind"},
    "board.col.time": {"ja": "時刻", "en": "Time"},
    "board.col.code": {"ja": "確認コード", "en": "Confirmation code"},
    "board.col.contests": {"ja": "分野", "en": "Categories"},
    "board.older": {"ja": "前の記録", "en": "Earlier entries"},
    "board.newer": {"ja": "後の記録", "en": "Later entries"},
    "board.heads": {
        "ja": "署名付きツリーヘッド（最新10件）",
        "en": "Signed tree heads (latest 10)",
    },
    "board.col.size": {"ja": "サイズ", "en": "Size"},
    "board.col.root": {"ja": "ルートハッシュ", "en": "Root hash"},
    "board.activity": {"ja": "分野別の投票数（日ごと）", "en": "Ballots per category per day"},
    "board.activity.none": {"ja": "まだ投票はありません。", "en": "No ballots yet."},
    "board.col.day": {"ja": "日付", "en": "Day"},
    "board.total": {"ja": "合計", "en": "Total"},
    "kind.manifest": {"ja": "選挙の定義", "en": "Manifest"},
    "kind.trustee": {"ja": "保管者の公開鍵", "en": "Trustee key"},
    "kind.parameters": {"ja": "選挙パラメータ", "en": "Parameters"},
    "kind.event": {"ja": "出来事", "en": "Event"},
    "kind.ballot": {"ja": "投票", "en": "Ballot"},
    "kind.challenged": {"ja": "チャレンジ済み", "en": "Challenged"},
    "kind.tally": {"ja": "暗号化された集計", "en": "Encrypted tally"},
    "kind.decryption": {"ja": "部分復号", "en": "Partial decryption"},
    "kind.results": {"ja": "結果", "en": "Results"},
    # results
    "results.title": {"ja": "投票結果", "en": "Results"},
    "results.none": {
        "ja": "結果はまだ公開されていません。",
        "en": "The results have not been published yet.",
    },
    "results.ballots": {
        "ja": "数えた票: {n}（1人につき、この分野を含む最後の1票）",
        "en": "Ballots counted: {n} (one per voter: the last they cast that covers this category)",
    },
    "results.blank": {
        "ja": "白票（どれも選ばなかった票）",
        "en": "Blank (no service chosen)",
    },
    "results.several": {
        "ja": "1票で{limit}個まで選べるため、割合の合計は100%を超えることがあります。",
        "en": "A ballot may choose up to {limit}, so the shares can add up to more than 100%.",
    },
    "results.counting": {
        "ja": (
            "掲示板には受け取ったすべての票（再投票で置き換えられた票を含む）が載っています。"
            "結果は、分野ごとに各投票者の最後の票だけを数えたものです。"
        ),
        "en": (
            "The board shows every ballot it received, including those a re-vote replaced; "
            "the results count, for each category, only each voter's last ballot."
        ),
    },
    "results.table": {"ja": "票数の表", "en": "Table of votes"},
    "results.col.option": {"ja": "サービス", "en": "Service"},
    "results.col.votes": {"ja": "票数", "en": "Votes"},
    "results.col.share": {"ja": "割合", "en": "Share"},
    "results.col.chart": {"ja": "グラフ", "en": "Chart"},
    "results.trustees": {
        "ja": "復号した保管者: {list}",
        "en": "Decrypted by trustees: {list}",
    },
    "results.record": {"ja": "選挙記録をダウンロード", "en": "Download the election record"},
    "results.verify": {
        "ja": "誰でも次のコマンドで選挙全体を検証できます:",
        "en": "Anyone can verify the whole election with:",
    },
    "error.title": {"ja": "エラー", "en": "Error"},
    "error.home": {"ja": "トップページへ", "en": "Back to the start page"},
    "error.404": {"ja": "ページが見つかりません。", "en": "Page not found."},
    "error.429": {
        "ja": "短時間にアクセスが集中しました。しばらくしてから再度お試しください。",
        "en": "Too many requests. Please wait a moment and try again.",
    },
    "error.other": {
        "ja": "処理できませんでした。しばらくしてから再度お試しください。",
        "en": "Something went wrong. Please try again later.",
    },
    # texts for the page scripts
    "js.loading": {"ja": "選挙の情報を読み込んでいます…", "en": "Loading the election…"},
    "js.tables": {"ja": "暗号化の準備をしています…", "en": "Preparing encryption…"},
    "js.ready": {"ja": "準備ができました。", "en": "Ready."},
    "js.insecure": {
        "ja": "（これは安全でない試験用の暗号パラメータを使うリハーサルです。本番の投票ではありません。）",
        "en": "(This rehearsal uses insecure test parameters. It is not a real vote.)",
    },
    "js.encrypting": {"ja": "暗号化しています…", "en": "Encrypting…"},
    "js.pick": {"ja": "選択肢を1つ選んでください。", "en": "Please choose an option."},
    "js.toomany": {"ja": "選べる数を超えています。", "en": "Too many options chosen."},
    "js.blank": {"ja": "選ばない（白票）", "en": "None (blank vote)"},
    "js.challenging": {"ja": "チャレンジしています…", "en": "Challenging…"},
    "js.challenge.ok": {
        "ja": "このブラウザで検証しました: 暗号文は表示どおりの選択を含み、証明も正しいです。",
        "en": "Checked in this browser: the ballot holds exactly this choice and its proofs hold.",
    },
    "js.challenge.bad": {
        "ja": "検証に失敗しました。この端末を使わないでください: ",
        "en": "The check FAILED. Do not use this device: ",
    },
    "js.signing": {"ja": "署名しています…", "en": "Signing…"},
    "js.sending": {"ja": "投票を送信しています…", "en": "Casting…"},
    "js.receipt.ok": {
        "ja": "このブラウザで検証しました: 投票は署名付きの掲示板（サイズ {size}）に含まれています。",
        "en": "Checked in this browser: your ballot is in the signed board (size {size}).",
    },
    "js.receipt.other": {
        "ja": "受領証がこの投票のものではありません",
        "en": "the receipt is not for this ballot",
    },
    # witnesses (docs/protocol.md §8.4): {n} cosigned, {q} needed, {names} who
    "js.witness.waiting": {
        "ja": "投票は掲示板に記録されました。いま、独立した立会人（大学・新聞社など）が"
        "この掲示板の記録を確認するのを待っています…（必要な{q}者のうち、いま{n}者）",
        "en": "Your ballot is recorded on the board. Now waiting for the independent "
        "witnesses (universities, newspapers and others) to confirm the board's record… "
        "({n} of the {q} needed so far)",
    },
    "js.witness.confirmed": {
        "ja": "独立した立会人（大学・新聞社など）{n}者が、この掲示板の記録を確認しました"
        "（{names}）。",
        "en": "Confirmed by {n} independent witnesses (universities, newspapers and others) "
        "who check the board's record: {names}.",
    },
    "js.witness.late": {
        "ja": "投票は掲示板に記録されています。ただし、独立した立会人（大学・新聞社など）による"
        "掲示板の記録の確認が、まだ済んでいません（必要な{q}者のうち{n}者）。受領証を保存し、"
        "しばらくしてから「投票を確認」のページで確認コードを入力して、もう一度確かめてください。",
        "en": "Your ballot is recorded on the board, but the independent witnesses "
        "(universities, newspapers and others) have not yet confirmed the board's record "
        "({n} of the {q} needed). Keep your receipt, and check again later on the “Verify "
        "my ballot” page with your confirmation code.",
    },
    "js.witness.list": {
        "ja": "{names}（{n}者。必要な数は{q}者）",
        "en": "{names} ({n}; {q} needed)",
    },
    "js.witness.none": {"ja": "まだいません", "en": "none yet"},
    "js.receipt.bad": {"ja": "受領証の検証に失敗しました: ", "en": "The receipt did not verify: "},
    "js.card.nofile": {
        "ja": "模擬カードのファイルを選んでください。",
        "en": "Choose the simulated card file.",
    },
    "js.card.badfile": {
        "ja": "模擬カードのファイルではありません。",
        "en": "This is not a simulated card file.",
    },
    "js.card.nopassword": {"ja": "パスワードを入力してください。", "en": "Enter the password."},
    "js.card.wrong": {
        "ja": "パスワードが違います。あと{n}回間違えるとカードがロックされます。",
        "en": "Wrong password. {n} more wrong tries lock the card.",
    },
    "js.card.locked": {
        "ja": "カードはロックされています。市区町村の窓口で解除してください。",
        "en": "The card is locked. Have it unlocked at your municipal office.",
    },
    "js.refused": {
        "ja": "投票は受け付けられませんでした: ",
        "en": "Your ballot was not accepted: ",
    },
    "js.accepted": {
        "ja": "投票を受け付けました。掲示板に記録されたことを確かめています…",
        "en": "Your ballot was accepted. Checking that the board has recorded it…",
    },
    "js.app.cancelled": {
        "ja": "署名を取りやめました。まだ投票されていません。",
        "en": "Signing was cancelled. Nothing has been cast.",
    },
    "js.resumed": {
        "ja": "中断したところから続けます。まだ投票されていません。",
        "en": "Carrying on where you left off. Nothing has been cast yet.",
    },
    "js.app.resumed": {
        "ja": "署名アプリでの署名を引き続き待っています…",
        "en": "Still waiting for the signing app…",
    },
    "js.contact": {
        "ja": "お問い合わせ: {name}（電話 {phone}、{hours}）",
        "en": "Questions: {name} (phone {phone}, {hours})",
    },
    "js.period": {
        "ja": "投票期間は {start} 〜 {end} です。",
        "en": "The voting period is {start} to {end}.",
    },
    "js.next.retry": {
        "ja": "少し待ってから、もう一度「署名して投票する」を押してください。",
        "en": "Wait a moment, then press “Sign and cast” again.",
    },
    "js.next.again": {
        "ja": "もう一度「署名して投票する」を押してください。カードは何度でも読み取れます。",
        "en": "Press “Sign and cast” again; the card can be read again.",
    },
    "js.next.card": {
        "ja": "マイナンバーカードの署名用電子証明書（英数字6〜16桁のパスワードのもの）で、"
        "もう一度お試しください。",
        "en": "Try again with the signing certificate of your My Number Card (the one with "
        "the 6 to 16 character password).",
    },
    "js.next.renew": {
        "ja": "このカードの電子証明書では投票できません。お住まいの市区町村の窓口で電子証明書を"
        "更新すると、投票期間中ならもう一度投票できます。",
        "en": "You cannot vote with this card's certificate. Renew it at your municipal "
        "office; within the voting period you can then vote.",
    },
    "js.next.area": {
        "ja": "この投票は、対象地域に住む人だけが投票できます。住所が最近変わった場合は、"
        "電子証明書の更新が必要なことがあります。",
        "en": "Only residents of the area can vote. If you moved recently, your certificate "
        "may need renewing.",
    },
    "js.next.closed": {
        "ja": "いまは投票できません。",
        "en": "You cannot vote now.",
    },
    "js.next.rechoose": {
        "ja": "この暗号文は使えません。「選び直す」を押して、もう一度選んでください。",
        "en": "This encrypted ballot cannot be used. Press “Change” and choose again.",
    },
    "js.next.method": {
        "ja": "上で「このスマートフォン」か「このパソコンにつないだカードリーダー」を選んでください。",
        "en": "Choose “This phone” or “A card reader on this PC” above.",
    },
    "js.next.locked": {
        "ja": "ロックの解除には、カードと本人確認書類を持って市区町村の窓口へ行ってください。",
        "en": "To unlock it, take the card and an identity document to your municipal office.",
    },
    "js.network": {
        "ja": "通信できませんでした。もう一度お試しください（同じ投票を送り直しても二重には数えられません）。",
        "en": "Could not reach the server. Try again: sending the same ballot twice never counts twice.",
    },
    "js.app.open": {"ja": "署名アプリで開く", "en": "Open in the signing app"},
    "js.reader.missing": {
        "ja": "署名ソフト（tohyo signer）に接続できません。起動しているか確かめてください。",
        "en": "Cannot reach the signer (tohyo signer). Check that it is running.",
    },
    "js.reader.over": {
        "ja": "署名ソフトでの署名が終わりました（{reason}）。もう一度「署名して投票する」を"
        "押してください。",
        "en": "The signer ended the request ({reason}). Press “Sign and cast” again.",
    },
    "js.reader.cancelled": {
        "ja": "署名ソフトで署名をやめました。",
        "en": "Signing was cancelled in the signer.",
    },
    "js.reader.blocked": {
        "ja": "カードのパスワードがロックされています。市区町村の窓口で解除してください。",
        "en": "The card's password is locked. Have it unlocked at your municipal office.",
    },
    "js.reader.not_jpki": {
        "ja": "カードリーダーのカードはマイナンバーカードではありません。",
        "en": "The card in the reader is not a My Number Card.",
    },
    "js.native.failed": {
        "ja": "スマートフォンでの署名ができませんでした: ",
        "en": "The phone could not sign: ",
    },
    "js.app.timeout": {
        "ja": "署名アプリからの応答がありません。",
        "en": "No answer from the signing app.",
    },
    "js.verify.fetching": {"ja": "掲示板から取得しています…", "en": "Fetching from the board…"},
    "js.verify.ok": {
        "ja": "検証しました: 番号{entry}の記録として、署名付きの掲示板（サイズ {size}）に含まれています。"
        "暗号文の証明もすべて正しいです。",
        "en": "Verified: entry {entry} is in the signed board (size {size}) and all its proofs hold.",
    },
    "js.verify.witnessed": {
        "ja": "独立した立会人（大学・新聞社など）{n}者も、この掲示板の記録を確認しています"
        "（{names}。必要な数は{q}者）。",
        "en": "{n} independent witnesses (universities, newspapers and others) have also "
        "confirmed the board's record ({names}; {q} needed).",
    },
    "js.verify.unwitnessed": {
        "ja": "ご注意: 掲示板のこの答えは、まだ十分な数の独立した立会人（大学・新聞社など）に"
        "確認されていません（必要な{q}者のうち{n}者）。立会人は、掲示板がすべての人に同じ記録を"
        "見せていることを確かめる第三者です。投票した直後なら、しばらくしてからもう一度確かめて"
        "ください。いつまでも確認されない場合は、掲示板があなたにだけ違う記録を見せているおそれが"
        "あるので、市に知らせてください。",
        "en": "Caution: the board's answer is not yet confirmed by enough independent "
        "witnesses (universities, newspapers and others): {n} of the {q} needed. Witnesses "
        "are outside organisations that check that the board shows everyone the same record. "
        "If you have just voted, check again in a few minutes; if it stays unconfirmed, the "
        "board may be showing you a record that others do not see: tell the city.",
    },
    "js.verify.challenged": {
        "ja": "これはチャレンジされた（開封された）暗号文で、投票には数えられません。中身: ",
        "en": "This is a challenged (opened) ballot; it never counts. It contained: ",
    },
    "js.verify.bad": {"ja": "検証に失敗しました: ", "en": "Verification FAILED: "},
    "js.verify.notfound": {
        "ja": "その確認コードの投票は掲示板にありません。",
        "en": "No ballot with that confirmation code is on the board.",
    },
    "js.verify.malformed": {
        "ja": "確認コードは、受領証の8文字（例: 7K3Q-9MXA）か、64桁の完全なコードです。"
        "空白やハイフンはあってもかまいません。",
        "en": "A confirmation code is the 8 characters on your receipt (e.g. 7K3Q-9MXA) or the "
        "full 64-digit code; spaces and hyphens are fine.",
    },
    "js.verify.several": {
        "ja": "この8文字で始まる投票が{n}件あります（偶然の一致です）。受領証の完全なコードと"
        "同じものを選んで検証してください。",
        "en": "{n} ballots begin with these 8 characters (by chance). Choose the one whose full "
        "code is on your receipt, and verify it.",
    },
    "js.voted": {"ja": "（この端末で投票済み）", "en": "(voted from this device)"},
    # --- /sign/<id>: the hand-off's link, as a person opening it sees it ------------------
    "sign.title": {"ja": "マイナンバーカードで署名する", "en": "Sign with your My Number Card"},
    "sign.what": {
        "ja": "これは「{election}」のあなたの投票に、マイナンバーカードで署名するための依頼です。",
        "en": "This is a request to sign your ballot in \u201c{election}\u201d with your My "
        "Number Card.",
    },
    "sign.compare": {
        "ja": "次の確認コードが、投票画面に表示されているものと同じか確かめてください。",
        "en": "Check that this confirmation code is the one shown on your voting screen.",
    },
    "sign.how": {"ja": "署名のしかた", "en": "How to sign"},
    "sign.how1": {
        "ja": "カードを読み取れるスマートフォンに「市民投票アプリ」を入れ、投票画面のQRコードを"
        "アプリで読み取ります（アプリが入っていれば、このリンクはアプリで開きます）。",
        "en": "On a phone that reads cards, install the citizens' vote app and scan the QR "
        "code on the voting screen with it (with the app installed, this link opens in it).",
    },
    "sign.how2": {
        "ja": "投票画面に表示されている6桁のペアリング番号をアプリに入力します。",
        "en": "Type the six-digit pairing number shown on the voting screen into the app.",
    },
    "sign.how3": {
        "ja": "署名用パスワード（英数字6〜16桁）を入力し、カードをスマートフォンの背面"
        "（カメラの近く）に当てて、終わるまで動かさずに待ちます。",
        "en": "Enter your signing password (6 to 16 letters and digits), then hold the card "
        "against the back of the phone (near the camera) and keep it still until it is done.",
    },
    "sign.warn.title": {"ja": "ご注意ください。", "en": "Be careful."},
    "sign.warn": {
        "ja": "自分で投票画面を開いて始めた署名だけをしてください。メールやSNSなどで他人から"
        "送られてきたリンクなら署名しないでください。あなたの名前で別の人の投票が"
        "されるおそれがあります。",
        "en": "Sign only what you started yourself on your own voting screen. If someone sent "
        "you this link by mail or a message, do not sign it: it could cast someone else's "
        "ballot in your name.",
    },
    "sign.refused.next": {
        "ja": "カードで署名する必要はありません。投票は、投票画面からもう一度始められます。",
        "en": "There is nothing to sign with your card. You can start again from the voting "
        "screen.",
    },
}
