"""The administrator's pages' texts, Japanese first (registered by :mod:`web.admin.routes`)."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "admin.title": {"ja": "選挙管理", "en": "Election administration"},
    "admin.nav": {"ja": "管理メニュー", "en": "Administration menu"},
    "admin.dashboard": {"ja": "ダッシュボード", "en": "Dashboard"},
    "admin.new": {"ja": "選挙の作成", "en": "Create the election"},
    "admin.ceremony": {"ja": "鍵生成の進行状況", "en": "Key ceremony"},
    "admin.decryption": {"ja": "復号の進行状況", "en": "Decryption"},
    "admin.logout": {"ja": "ログアウト", "en": "Log out"},
    "admin.login": {"ja": "管理者ログイン", "en": "Administrator login"},
    "admin.password": {"ja": "管理者パスワード", "en": "Administrator password"},
    "admin.login.button": {"ja": "ログイン", "en": "Log in"},
    "admin.login.wrong": {
        "ja": "パスワードが違います。",
        "en": "The password is not correct.",
    },
    "admin.login.disabled": {
        "ja": "このサーバーでは管理者ログインが設定されていません（tohyo admin password）。",
        "en": "Administrator login is not configured on this server (tohyo admin password).",
    },
    "admin.login.bad_hash": {
        "ja": "設定された管理者パスワードのハッシュの形式が正しくありません。"
        "tohyo admin password の出力した1行をそのままファイルに入れてください。",
        "en": "The configured administrator password hash is malformed. Put the one line "
        "that tohyo admin password prints, unchanged, in the file.",
    },
    "admin.login.expired": {
        "ja": "セッションの有効期限が切れました。もう一度ログインしてください。",
        "en": "Your session has expired. Please log in again.",
    },
    "admin.login.needed": {
        "ja": "このページを見るには管理者ログインが必要です。",
        "en": "Please log in as the administrator to see this page.",
    },
    "admin.login.limited": {
        "ja": "ログインの試行が多すぎます。しばらくしてからもう一度お試しください。",
        "en": "Too many login attempts. Please wait a while and try again.",
    },
    "admin.logged_out": {"ja": "ログアウトしました。", "en": "You have logged out."},
    "admin.csrf": {
        "ja": "フォームの有効期限が切れたか、正しくありません。"
        "ページを再読み込みしてやり直してください。",
        "en": "The form has expired or is not valid. Reload the page and try again.",
    },
    "admin.state": {"ja": "掲示板の状態", "en": "Board state"},
    "admin.state.setup": {
        "ja": "選挙はまだ掲示板にありません（鍵生成の前）",
        "en": "No election on the board yet (before the key ceremony)",
    },
    "admin.state.ready": {
        "ja": "選挙は掲示済み・投票開始前",
        "en": "Election posted; voting not opened yet",
    },
    "admin.state.open": {"ja": "投票受付中", "en": "Voting is open"},
    "admin.state.closed": {"ja": "投票は締め切られました", "en": "Voting is closed"},
    "admin.election": {"ja": "選挙", "en": "Election"},
    "admin.period": {"ja": "投票期間", "en": "Voting period"},
    "admin.next": {"ja": "次の操作", "en": "Next step"},
    "admin.no_ceremony": {
        "ja": "まだ選挙がありません。マニフェストから選挙を作成してください。",
        "en": "There is no election yet. Create it from a manifest.",
    },
    "admin.ceremony_running": {
        "ja": "鍵生成の途中です。保管者全員が確認を終えたら、鍵生成を完了してください。",
        "en": "The key ceremony is in progress. Finish it once every trustee has confirmed.",
    },
    "admin.open": {"ja": "投票を開始する", "en": "Open voting"},
    "admin.close": {"ja": "投票を締め切る", "en": "Close voting"},
    "admin.close.confirm": {
        "ja": "締め切ると再開できないことを理解しました",
        "en": "I understand that voting cannot be reopened",
    },
    "admin.close.confirm_needed": {
        "ja": "締め切るには確認のチェックを入れてください。",
        "en": "Tick the confirmation to close voting.",
    },
    "admin.tally": {
        "ja": "集計を開始する（暗号化された合計を掲示）",
        "en": "Start the tally (post the encrypted totals)",
    },
    "admin.results": {"ja": "結果を公開する", "en": "Publish the results"},
    "admin.results.done": {"ja": "結果は公開済みです。", "en": "The results are published."},
    "admin.results.link": {"ja": "結果を見る", "en": "See the results"},
    "admin.opened": {"ja": "投票を開始しました。", "en": "Voting is open."},
    "admin.closed": {"ja": "投票を締め切りました。", "en": "Voting is closed."},
    "admin.tallied": {
        "ja": "暗号化された合計を掲示しました。保管者に部分復号を依頼してください。",
        "en": "The encrypted totals are posted. Ask the trustees for their partial decryptions.",
    },
    "admin.published": {"ja": "結果を公開しました。", "en": "The results are published."},
    "admin.refused.other": {
        "ja": "この操作はできませんでした。理由は下の「技術的な詳細（英語）」に書かれています。",
        "en": "This step could not be done. The technical detail below says why.",
    },
    "admin.detail": {"ja": "技術的な詳細（英語）", "en": "Technical detail"},
    "admin.turnout": {"ja": "投票数の推移", "en": "Turnout over time"},
    "admin.turnout.note": {
        "ja": "掲示板の公開記録から数えた、分野ごとの投票（再投票を含む）の数です。"
        "投票者の仮名は使いません。",
        "en": "Cast ballots per category (re-votes included), counted from the board's "
        "public entries. Voter pseudonyms are not used.",
    },
    "admin.turnout.by_day": {"ja": "日ごと", "en": "By day"},
    "admin.turnout.by_hour": {"ja": "時間ごと（直近72時間）", "en": "By hour (last 72 hours)"},
    "admin.turnout.none": {"ja": "まだ投票はありません。", "en": "No ballots yet."},
    "admin.turnout.total": {"ja": "合計", "en": "Total"},
    "admin.turnout.when": {"ja": "期間", "en": "Period"},
    "admin.turnout.chart": {
        "ja": "{contest}：{first}から{last}まで、最大{top}票",
        "en": "{contest}: from {first} to {last}, at most {top} ballots",
    },
    "admin.turnout.table": {"ja": "数値の表", "en": "Table of the numbers"},
    "admin.new.intro": {
        "ja": "マニフェスト（JSON）を貼り付けるかファイルを選んでください。"
        "作成すると鍵生成が始まり、保管者ごとの登録トークンが一度だけ表示されます。",
        "en": "Paste the manifest (JSON) or choose its file. Creating the election starts the "
        "key ceremony and shows each trustee's enrolment token once.",
    },
    "admin.new.manifest": {"ja": "マニフェスト（JSON）", "en": "Manifest (JSON)"},
    "admin.new.file": {"ja": "またはマニフェストのファイル", "en": "Or the manifest file"},
    "admin.new.group": {"ja": "暗号グループ", "en": "Cryptographic group"},
    "admin.new.group.standard": {
        "ja": "標準（4096ビット、本番用）",
        "en": "Standard (4096-bit, for real elections)",
    },
    "admin.new.group.test": {
        "ja": "テスト用（安全ではありません、リハーサル専用）",
        "en": "Test (NOT secure, rehearsals only)",
    },
    "admin.new.group.help": {
        "ja": "テスト用グループは、サーバーをリハーサル用の設定で起動したときだけ選べます。",
        "en": "The test group can be chosen only when the server runs with the rehearsal flag.",
    },
    "admin.new.trustees": {
        "ja": "保管者の数 n（空欄ならマニフェストの値）",
        "en": "Number of trustees n (blank: the manifest's)",
    },
    "admin.new.quorum": {
        "ja": "復号に必要な人数 k（空欄ならマニフェストの値）",
        "en": "Quorum k (blank: the manifest's)",
    },
    "admin.new.replace": {
        "ja": "進行中の鍵生成を破棄して新しく始める（これまでのトークンは無効になります）",
        "en": "Abandon the key ceremony in progress and start again (its tokens stop working)",
    },
    "admin.new.replace_needed": {
        "ja": "鍵生成が進行中です。作り直す場合は破棄の確認にチェックを入れてください。",
        "en": "A key ceremony is in progress. Tick the box to abandon it and start again.",
    },
    "admin.new.stale": {
        "ja": "このフォームを開いた後に鍵生成の状態が変わりました。ページを開き直してください。",
        "en": "The key ceremony changed since this form was opened. Open the page again.",
    },
    "admin.new.create": {
        "ja": "選挙を作成して鍵生成を始める",
        "en": "Create the election and start the key ceremony",
    },
    "admin.new.no_manifest": {
        "ja": "マニフェストを入力してください。",
        "en": "Enter the manifest.",
    },
    "admin.new.bad_manifest": {
        "ja": "マニフェストに誤りがあります：",
        "en": "The manifest has an error:",
    },
    "admin.new.bad_field": {
        "ja": "項目 {field}：{message}",
        "en": "manifest field {field}: {message}",
    },
    "admin.new.bad_number": {
        "ja": "1から{top}までの整数を入力してください。",
        "en": "Enter a whole number from 1 to {top}.",
    },
    "admin.new.test_refused": {
        "ja": "このサーバーではテスト用グループは使えません。",
        "en": "The test group is not allowed on this server.",
    },
    "admin.new.election_exists": {
        "ja": "掲示板にはすでに選挙があります。",
        "en": "The board already holds an election.",
    },
    "admin.tokens.title": {"ja": "保管者の登録トークン", "en": "Trustee enrolment tokens"},
    "admin.tokens.once": {
        "ja": "このトークンは今回だけ表示され、サーバーには保存されません。保管者ごとに、"
        "安全な方法で（本人に直接、または暗号化した連絡手段で）渡してください。",
        "en": "These tokens are shown this once and are not kept on the server. Give each "
        "trustee its own token through a safe channel (in person, or an encrypted message).",
    },
    "admin.tokens.trustee": {"ja": "保管者", "en": "Trustee"},
    "admin.tokens.token": {"ja": "トークン", "en": "Token"},
    "admin.tokens.command": {"ja": "保管者が実行するコマンド", "en": "The trustee's commands"},
    "admin.tokens.fingerprint": {
        "ja": "マニフェストの指紋 H_B（保管者のコマンドの表示と照合してもらってください）",
        "en": "Manifest fingerprint H_B (the trustees compare it with what their command prints)",
    },
    "admin.tokens.board_key": {
        "ja": "掲示板の公開鍵（このサーバー以外の経路でも公表し、保管者に渡してください。"
        "保管者は復号のときに --board-key でこの値を指定します）",
        "en": "The board's public key (publish it outside this server too and give it to the "
        "trustees: they pin it with --board-key when they decrypt)",
    },
    "admin.tokens.continue": {"ja": "進行状況へ", "en": "Go to the key ceremony"},
    "admin.ceremony.none": {
        "ja": "鍵生成は行われていません。",
        "en": "No key ceremony has been started.",
    },
    "admin.ceremony.outside": {
        "ja": "この選挙はウェブの鍵生成を使わずに（コマンドで）掲示されました。",
        "en": "This election was posted without the web key ceremony (by the command line).",
    },
    "admin.ceremony.group": {"ja": "グループ", "en": "Group"},
    "admin.ceremony.nk": {
        "ja": "保管者 {n} 人、復号に必要な人数 {k} 人",
        "en": "{n} trustees, quorum {k}",
    },
    "admin.ceremony.public": {"ja": "公開鍵と証明", "en": "Public key and proof"},
    "admin.ceremony.sent": {"ja": "送った分割鍵", "en": "Shares sent"},
    "admin.ceremony.received": {"ja": "受け取った分割鍵", "en": "Shares received"},
    "admin.ceremony.confirmed": {"ja": "確認", "en": "Confirmed"},
    "admin.ceremony.complaints": {
        "ja": "苦情（不正な分割鍵の報告）",
        "en": "Complaints (bad shares reported)",
    },
    "admin.ceremony.complaint": {
        "ja": "保管者 {complainant} が保管者 {accused} からの分割鍵を不正と報告：{reason}",
        "en": "Trustee {complainant} reports a bad share from trustee {accused}: {reason}",
    },
    "admin.ceremony.resolved": {"ja": "（再送済み）", "en": "(resent)"},
    "admin.ceremony.ready": {
        "ja": "全員の確認が揃いました。鍵生成を完了して選挙を掲示できます。",
        "en": "Every trustee has confirmed. You can finish the ceremony and post the election.",
    },
    "admin.ceremony.waiting": {"ja": "まだ揃っていないもの：", "en": "Still missing:"},
    "admin.ceremony.finish": {
        "ja": "鍵生成を完了して選挙を掲示する",
        "en": "Finish the ceremony and post the election",
    },
    "admin.ceremony.finished": {
        "ja": "鍵生成を完了し、選挙を掲示板に掲示しました。",
        "en": "The key ceremony is finished and the election is on the board.",
    },
    "admin.ceremony.posting": {
        "ja": "鍵生成は完了しましたが、選挙はまだ掲示板にありません。"
        "もう一度「完了」を押すと掲示をやり直します。",
        "en": "The key ceremony is finished but the election is not on the board yet. "
        "Finish again to post it.",
    },
    "admin.ceremony.joint": {"ja": "共同鍵 K の指紋", "en": "Joint key K fingerprint"},
    "admin.ceremony.start_over": {"ja": "鍵生成をやり直す", "en": "Start the key ceremony again"},
    "admin.decryption.quorum": {
        "ja": "部分復号 {have} / 必要数 {k}",
        "en": "{have} partial decryptions of the {k} needed",
    },
    "admin.decryption.trustee": {"ja": "保管者", "en": "Trustee"},
    "admin.decryption.status": {"ja": "部分復号", "en": "Partial decryption"},
    "admin.decryption.no_tally": {
        "ja": "まだ集計（暗号化された合計）が掲示されていません。",
        "en": "The encrypted tally is not on the board yet.",
    },
    "admin.decryption.command": {
        "ja": "保管者は次のコマンドで部分復号を送ります：",
        "en": "Trustees send their partial decryption with:",
    },
    "admin.decryption.entry": {"ja": "掲示済み（記録 {entry}）", "en": "Posted (entry {entry})"},
    "admin.decryption.need_quorum": {
        "ja": "結果の公開には、さらに部分復号が必要です。",
        "en": "More partial decryptions are needed before the results can be published.",
    },
    "admin.yes": {"ja": "✓ 済み", "en": "✓ done"},
    "admin.no": {"ja": "— 未", "en": "— not yet"},
    "admin.of": {"ja": "{have} / {want}", "en": "{have} of {want}"},
    "admin.warning.test": {
        "ja": "注意：テスト用グループです。安全ではないので、本番の選挙には使えません。",
        "en": "Warning: the test group. It is NOT secure; never use it for a real election.",
    },
}
