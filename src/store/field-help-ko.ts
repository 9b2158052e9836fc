/**
 * Korean one-line help of the form fields (the web UI in Korean), keyed by the English help
 * text of `field-text.ts`, like {@link FIELD_LABELS_KO} for the labels. A help text missing
 * here shows in English; `test/web/i18n.test.ts` checks that none is missing. Protocol names,
 * file paths, URLs, systemd setting names and examples stay as written.
 */
export const FIELD_HELP_KO: Record<string, string> = {
  "Lower-case letters, digits, - and _; names the app and its tags (/{id}/…).":
    "영문 소문자, 숫자, - 와 _; 앱과 그 태그의 이름이 됩니다 (/{id}/…).",
  "Modbus TCP, Modbus RTU (serial) or OPC UA.": "Modbus TCP, Modbus RTU (시리얼) 또는 OPC UA.",
  "Disabled: its app is stopped, the configuration kept.": "비활성: 앱은 멈추고 설정은 유지됩니다.",
  "IP address or name of the device or gateway.": "장치 또는 게이트웨이의 IP 주소나 이름.",
  "502 for Modbus TCP.": "Modbus TCP는 502.",
  "Modbus slave address of the device (0–255; 255 or 1 for most TCP devices).":
    "장치의 Modbus 슬레이브 주소 (0–255; 대부분의 TCP 장치는 255 또는 1).",
  "0: addresses as on the wire; 1: one-based as in many manuals.":
    "0: 통신상의 주소 그대로; 1: 많은 매뉴얼처럼 1부터 시작.",
  "e.g. /dev/ttyUSB0.": "예: /dev/ttyUSB0.",
  "opc.tcp://host:4840/path": "opc.tcp://host:4840/path",
  "None, Sign or SignAndEncrypt.": "None, Sign 또는 SignAndEncrypt.",
  "Empty: anonymous.": "비워 두면 익명.",
  "How long one request waits for the device's answer.": "요청 하나가 장치의 응답을 기다리는 시간.",
  "Pause between two requests on the link (slow serial devices).":
    "링크에서 두 요청 사이의 대기 시간 (느린 시리얼 장치).",
  "Longest read the device accepts (125 by the Modbus spec).":
    "장치가 받아들이는 가장 긴 읽기 (Modbus 규격상 125).",
  "Longest coil / input read (2000 by the Modbus spec).":
    "가장 긴 코일 / 입력 읽기 (Modbus 규격상 2000).",
  "Automatic blocks: neighbours this close are read in one request.":
    "자동 블록: 이만큼 가까운 이웃 태그는 한 요청으로 읽습니다.",
  "Wait before the first reconnect; doubles up to the maximum.":
    "첫 재연결 전 대기 시간; 최대값까지 두 배씩 늘어납니다.",
  "Timeouts in a row after which a device is skipped for a while.":
    "연속 타임아웃이 이 횟수에 이르면 장치를 한동안 건너뜁니다.",
  "How long a demoted device is skipped before one probe.":
    "강등된 장치를 한 번 확인하기 전까지 건너뛰는 시간.",
  "systemd MemoryMax of the app, e.g. 256M; empty = none.":
    "앱의 systemd MemoryMax, 예: 256M; 비우면 제한 없음.",
  "systemd CPUQuota of the app, e.g. 50%; empty = none.":
    "앱의 systemd CPUQuota, 예: 50%; 비우면 제한 없음.",
  "Name of the device on the link; its tags are {device}/{tag}.":
    "링크 위 장치의 이름; 그 태그는 {device}/{tag} 입니다.",
  "A device profile whose blocks and tags it gets.":
    "이 장치가 블록과 태그를 받아 오는 장치 프로파일.",
  "Modbus table: coils, discrete inputs, holding or input registers.":
    "Modbus 테이블: 코일, 이산 입력, 홀딩 또는 입력 레지스터.",
  "First address, in the connection's address base (0 or 1).":
    "시작 주소, 연결의 주소 기준 (0 또는 1).",
  "How many registers (or bits) one poll reads.": "한 번의 폴링이 읽는 레지스터 (또는 비트) 수.",
  "Empty: on demand / write-only.": "비워 두면 요청 시 / 쓰기 전용.",
  "Offset of the first poll (spreads blocks); empty = automatic.":
    "첫 폴링의 시간 오프셋 (블록을 분산); 비우면 자동.",
  "subscribe (default) or poll.": "subscribe (기본) 또는 poll.",
  "A device of a multi-device link (devices tab); empty = the connection's unit id.":
    "다중 장치 링크의 장치 (장치 탭); 비우면 연결의 유닛 ID.",
  "Names the tag /{conn}/{tag} on the tag bus.": "태그 버스에서 태그 이름 /{conn}/{tag} 가 됩니다.",
  "The block that reads it; empty = an automatic tag (table and scan time).":
    "이 태그를 읽는 블록; 비우면 자동 태그 (테이블과 스캔 주기).",
  "Automatic tags: how often it is read.": "자동 태그: 얼마나 자주 읽는지.",
  "Register or bit address, in the connection's address base.":
    "레지스터 또는 비트 주소, 연결의 주소 기준.",
  "Bit of a register (0–15) for a bit tag.": "비트 태그의 레지스터 비트 (0–15).",
  "Strings: registers read.": "문자열: 읽는 레지스터 수.",
  "Array tags: consecutive elements of the data type, published as one array value; empty = one value.":
    "배열 태그: 데이터 형식의 연속된 요소를 하나의 배열 값으로 발행; 비우면 단일 값.",
  "Order of bytes and words of multi-register values (ABCD = big-endian).":
    "여러 레지스터 값의 바이트와 워드 순서 (ABCD = 빅 엔디언).",
  "value = raw × scale + offset.": "값 = 원시값 × 배율 + 오프셋.",
  "Publish only changes larger than this (in engineering units).":
    "이보다 큰 변화만 발행합니다 (공학 단위).",
  "read or read-write (writable from the UI and the API).":
    "read 또는 read-write (UI와 API에서 쓰기 가능).",
  "Engineering unit shown with the value, e.g. °C.": "값과 함께 표시되는 공학 단위, 예: °C.",
  "e.g. ns=2;s=Machine.Speed": "예: ns=2;s=Machine.Speed",
  "Lower-case letters, digits, - and _; names the app (ne-north).":
    "영문 소문자, 숫자, - 와 _; 앱의 이름이 됩니다 (ne-north).",
  "mqtt (JSON per tag or batch) or sparkplug (Sparkplug B).":
    "mqtt (태그 또는 배치별 JSON) 또는 sparkplug (Sparkplug B).",
  "mqtt:// or mqtts:// URLs, separated by spaces or commas, tried in order.":
    "mqtt:// 또는 mqtts:// URL, 공백이나 쉼표로 구분, 순서대로 시도.",
  "MQTT client id; empty = nodi-edge-{gateway}-{north_id}.":
    "MQTT 클라이언트 ID; 비우면 nodi-edge-{gateway}-{north_id}.",
  "MQTT user name; empty = none.": "MQTT 사용자 이름; 비우면 없음.",
  "MQTT password; never shown again once stored.":
    "MQTT 비밀번호; 저장된 뒤에는 다시 표시되지 않습니다.",
  "PEM file of the CA that signed the broker's certificate.":
    "브로커 인증서에 서명한 CA의 PEM 파일.",
  "PEM file, for mqtts:// with client auth.": "PEM 파일, 클라이언트 인증을 쓰는 mqtts:// 용.",
  "PEM file of the client certificate's key.": "클라이언트 인증서 키의 PEM 파일.",
  "MQTT keep-alive (MQTT 3.1.1 §3.1.2.10).": "MQTT 킵얼라이브 (MQTT 3.1.1 §3.1.2.10).",
  "The gateway's name in topics ({gateway}); empty = host name.":
    "토픽 안의 게이트웨이 이름 ({gateway}); 비우면 호스트 이름.",
  "Tag path globs separated by spaces or commas; /** = every data tag.":
    "공백이나 쉼표로 구분한 태그 경로 글로브; /** = 모든 데이터 태그.",
  "At most one update per tag per this many ms (0 = every change).":
    "태그당 이 ms 마다 최대 한 번 갱신 (0 = 모든 변화).",
  "Re-publish every selected tag's value this often (0 = never).":
    "선택된 모든 태그 값을 이 주기로 다시 발행 (0 = 안 함).",
  "Store-and-forward buffer on disk; oldest dropped when full.":
    "디스크의 저장 후 전달 버퍼; 가득 차면 가장 오래된 것부터 버립니다.",
  "Buffered messages older than this are dropped.": "이보다 오래된 버퍼 메시지는 버립니다.",
  "Accept writes (…/set, DCMD) for read-write tags.":
    "read-write 태그에 대한 쓰기 (…/set, DCMD) 를 받아들입니다.",
  "MQTT topic per tag, e.g. nodi-edge/{gateway}/{conn_id}/{tag}.":
    "태그별 MQTT 토픽, 예: nodi-edge/{gateway}/{conn_id}/{tag}.",
  "MQTT quality of service: 0, 1 or 2.": "MQTT 서비스 품질 (QoS): 0, 1 또는 2.",
  "Publish with the MQTT retain flag.": "MQTT retain 플래그를 붙여 발행.",
  "tag: one message per tag update; batch: one per batch.":
    "tag: 태그 갱신마다 메시지 하나; batch: 배치마다 하나.",
  "Empty = the gateway name.": "비우면 게이트웨이 이름.",
  "Publish only while this host is online; empty = always.":
    "이 호스트가 온라인일 때만 발행; 비우면 항상.",
};
