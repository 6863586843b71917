#!/usr/bin/env python3
"""Writes the hand-made seed corpus of the fuzz targets into corpus/<target>/.

Protobuf is encoded by hand (a few lines, no library), so the seeds do not
depend on our own codec. Run from anywhere: python3 tests/fuzz/make_seeds.py
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(n):
    n &= (1 << 64) - 1  # negative int64 as ten bytes, like protobuf
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_varint(num, value):
    return varint(num << 3) + varint(value)


def field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_double(num, value):
    return varint(num << 3 | 1) + struct.pack('<d', value)


def hello(role=1, ident='water', token='secret', version=1):
    return (field_varint(1, role) + field_bytes(2, ident) + field_bytes(3, token) +
            field_varint(4, version))


def intake(external_id='W-1', content='路灯不亮', **kw):
    body = field_bytes(1, external_id)
    body += field_varint(2, kw.get('received_at', 1795000000000))
    body += field_bytes(3, 'phone')
    body += field_bytes(4, kw.get('caller_phone', '13812345678'))
    body += field_bytes(5, '王女士')
    body += field_bytes(6, 'complaint')
    body += field_bytes(7, content)
    body += field_bytes(8, '崇川区')
    body += field_bytes(9, '南大街 1 号')
    body += field_double(10, kw.get('lat', 32.0))
    body += field_double(11, kw.get('lon', 120.86))
    body += field_varint(12, kw.get('priority', 2))
    body += field_bytes(13, '12319')
    if kw.get('resolved'):
        body += field_varint(14, 1) + field_bytes(15, '已答复')
    return body


def frame(field_num, msg):
    return field_bytes(field_num, msg)


def prefixed(body):
    return struct.pack('>I', len(body)) + body


def dept_action_reply():
    reply = field_bytes(1, '已修复')
    return field_bytes(1, '20261127000001') + field_bytes(4, reply)


def write(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def main():
    # fuzz_frame: [max_frame selector][chunk seed][stream...]
    stream = (prefixed(frame(1, hello())) + prefixed(b'') +
              prefixed(frame(4, intake())) + prefixed(frame(8, dept_action_reply())))
    write('fuzz_frame', 'hello_intake_action', bytes([5, 7]) + stream)
    write('fuzz_frame', 'small_limit_too_large', bytes([2, 1]) + prefixed(b'x' * 20))
    write('fuzz_frame', 'empty_frames', bytes([0, 3]) + prefixed(b'') * 3)
    write('fuzz_frame', 'garbage_body', bytes([3, 9]) + prefixed(b'\xff\xff\xff\x0f'))
    write('fuzz_frame', 'huge_prefix', bytes([5, 0]) + b'\xff\xff\xff\xff')

    # fuzz_intake: one serialized Intake
    write('fuzz_intake', 'full', intake(resolved=True))
    write('fuzz_intake', 'minimal', field_bytes(1, 'x') + field_bytes(7, 'c'))
    write('fuzz_intake', 'bad_utf8', intake(content=b'\xc0\xaf'))
    write('fuzz_intake', 'negative_time', intake(received_at=-1, priority=7))
    write('fuzz_intake', 'nan_location', intake(lat=float('nan'), lon=float('inf')))

    # fuzz_json: one line
    lines = {
        'hello': '{"role":"feed","id":"water","token":"secret","version":1}\n',
        'intake': ('{"external_id":"W-1","received_at":1795000000000,"channel":"phone",'
                   '"caller_phone":"+86 138-1234-5678","caller_name":"李先生",'
                   '"category":"complaint","content":"路灯不亮\\n\\"三天了\\"",'
                   '"district":"崇川区","address":"南大街1号","lat":32.01,"lon":120.9,'
                   '"priority":"urgent","origin_number":"12319","resolved_on_call":true,'
                   '"answer":"已转交"}\n'),
        'intake_minimal': '{"external_id":"a","content":"c"}',
        'duplicate_key': '{"external_id":"a","content":"c","content":"d"}',
        'unknown_key': '{"external_id":"a","conent":"c"}',
        'unknown_key_escapes': ('{"external_id":"a","k\\u0001\\u0085路\'\\\\' + 'k' * 70 +
                                '":"c"}'),
        'not_object': '[1,2,{"a":null}]',
        'escapes': '{"external_id":"\\u0041","content":"\\ud83d\\ude00 \\u4e2d"}',
    }
    for name, text in lines.items():
        write('fuzz_json', name, text.encode())

    # fuzz_rules: rule files (docs/rules.md), the deployed example among them
    with open(os.path.join(HERE, '..', '..', 'deploy', 'rules.example'), 'rb') as f:
        write('fuzz_rules', 'example', f.read())
    rule_files = {
        'minimal': 'rule a -> w\n',
        'conditions': ('rule w -> water\n  feed agents, web\n  category complaint\n'
                       '  district 崇川区\n  keywords 停水，水压低\n  keywords 爆管\n'),
        'crlf_bom': '\ufeff# c\r\nrule a->b\r\n\tdistrict 海门区\r\n',
        'errors': 'rule a -> w\n  keywords x,,y\nrule a -> v\nbogus\n',
    }
    for name, text in rule_files.items():
        write('fuzz_rules', name, text.encode())

    # fuzz_calendar: calendar files (docs/calendar.md), the shipped years among them
    cal_dir = os.path.join(HERE, '..', '..', 'deploy', 'calendar')
    for name in sorted(os.listdir(cal_dir)):
        if name.endswith('.cal'):
            with open(os.path.join(cal_dir, name), 'rb') as f:
                write('fuzz_calendar', name, f.read())
    calendar_files = {
        'minimal': 'year 2021\n',
        'crlf_bom_space': ('\ufeff# c\r\nyear\u30002021\r\n'
                           'holiday\t2021-02-11 2021-02-17 春节\r\nworkday 2021-02-07 调休\r\n'),
        'errors': 'year 2021\nholiday 2021-02-17 2021-02-11 x\nworkday 2021-02-08 y\n',
        'no_year': 'holiday 2021-01-01 元旦\n',
    }
    for name, text in calendar_files.items():
        write('fuzz_calendar', name, text.encode())

    # fuzz_config: hotlined configs (README.md, "Configuration"), the example among them
    with open(os.path.join(HERE, '..', '..', 'deploy', 'hotlined.conf.example'), 'rb') as f:
        write('fuzz_config', 'example', f.read())
    config_files = {
        'minimal': '[hotlined]\nlog_level = warn\n',
        'feeds_depts_agents': ('[agents]\ntoken = agent-terminal-secret\nfeed = desk\n'
                               '[feed.desk]\ntoken = desk-feed-secret\n'
                               'allow_resolved_on_call = yes\n'
                               '[feed.sub]\ntoken = sub-feed-secret\nmode = subcenter\n'
                               'dept = sub\n[dept.sub]\ntoken = sub-dept-secret\n'
                               '[redis]\npassword = redis-password\n'),
        'syntax': ('\ufeff; c\r\n# c\r\n[hotlined] ; h\r\n  max_frame = 1024 ; f\r\n'
                   'listen_json =\r\n[postgres]\nconninfo = host=/tmp dbname=a=b\n'
                   'timezone = Etc/GMT+8\n[deadlines]\ndefault = 5wd\n'
                   'category.投诉 = 2h\n'),
        'limits': ('[hotlined]\nmax_connections = 100\nmax_unauthenticated = 50\n'
                   'max_unauthenticated_per_address = 5\n[routing]\nextend_max_days = 30\n'),
        'errors': ('[feed.a]\ntoken = same\n[dept.a]\ntoken = same\n[feed.a]\n'
                   'token = x\ntoken = y\nno equals\n[postgres]\ntimezone = ../x\n'),
        'long_line': '[postgres]\nconninfo = ' + 'x' * 300 + ' name=y\n',
    }
    for name, text in config_files.items():
        write('fuzz_config', name, text.encode())

    # fuzz_ticket: stored Tickets as the relay packs them, and near misses
    ticket = (field_bytes(1, '20261128-00000042') + field_bytes(2, '路灯') +
              field_bytes(3, '路灯不亮' * 40) + field_bytes(4, '138****5678') +
              field_varint(7, 2) + field_varint(8, 1764288000123) + field_varint(10, 1) +
              field_double(12, 32.01) + field_double(13, 120.86))
    write('fuzz_ticket', 'relay_ticket', ticket)
    write('fuzz_ticket', 'ticket_no_only', field_bytes(1, 'T-1'))
    write('fuzz_ticket', 'unknown_fields', field_bytes(1, 'T-1') + field_varint(31, 5) +
          varint(32 << 3 | 5) + b'abcd')
    write('fuzz_ticket', 'wrong_wire_type', field_bytes(1, 'T-1') + field_varint(12, 1))

    # fuzz_httpreq: one input is read as a path after /api/v1/, as an
    # Authorization header and as a JSON body
    write('fuzz_httpreq', 'path_ticket', 'tickets/20261207-00000042/dispatch'.encode())
    write('fuzz_httpreq', 'path_phone_escaped', 'callers/%2B8613800138000/tickets'.encode())
    write('fuzz_httpreq', 'path_nul_escape', 'tickets/a%00b'.encode())
    write('fuzz_httpreq', 'path_bad_utf8', 'kb/%ff%fe'.encode())
    write('fuzz_httpreq', 'bearer', 'Bearer hl1.7.Jd5aB-c_dEfGhIjKlMnOpQrStUvWxYz0123456789ab'.encode())
    write('fuzz_httpreq', 'bearer_junk', 'Bearer hl1.07..'.encode())
    write('fuzz_httpreq', 'body_ruling', '{"decision":"dispatch","dept_code":"water","reason":"属于你单位职责"}'.encode())
    write('fuzz_httpreq', 'body_unknown', '{"decision":"close","reason":"x","extra":1}'.encode())
    write('fuzz_httpreq', 'body_nul', '{"decision":"close","reason":"a\\u0000b"}'.encode())
    write('fuzz_httpreq', 'body_types', '{"decision":1,"flag":"yes","n":1.5}'.encode())

    # fuzz_form: Open311 POST bodies (the spec's example among them) and query strings
    write('fuzz_form', 'spec_example', (
        'api_key=xyz&jurisdiction_id=city.gov&service_code=001&lat=37.76524078&long=-122.4212043&'
        'address_string=1234+5th+street&email=smit333%40sfgov.edu&device_id=tt222111&'
        'account_id=123456&first_name=john&last_name=smith&phone=111111111&'
        'description=A+large+sinkhole+is+destroying+the+street&media_url=http%3A%2F%2Ffarm3.'
        'static.flickr.com%2F2002%2F2212426634_5ed477a060.jpg&attribute[WHISPAWN]=123456').encode())
    write('fuzz_form', 'chinese', ('api_key=k&service_code=streetlight&address_string=%E5%8D%97%E5%A4%A7'
                                   '%E8%A1%97&description=路灯不亮&lat=0&long=0').encode())
    write('fuzz_form', 'query_filters', ('service_request_id=20261207-00000042,20261207-00000043&'
                                         'service_code=a,b,&status=open,closed&start_date=2026-10-01T00'
                                         ':00:00Z&end_date=2026-12-01T08:00:00+08:00').encode())
    write('fuzz_form', 'query_fraction', 'end_date=2026-12-01T00:00:00.123456789Z&status='.encode())
    write('fuzz_form', 'refusals', 'a=%zz&=1&b=%00&c=%C3%28&a&&'.encode())
    write('fuzz_form', 'xml_text', 'description=a%3Cb%26c%01%EF%BF%BF&address_string=x'.encode())

    # fuzz_httpresp: the first byte chooses the size of the pieces fed (0xff: an
    # answer to HEAD), the rest is what a server sent
    write('fuzz_httpresp', 'length', b'\x07HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n'
          b'Content-Length: 11\r\n\r\n{"a": "b"}\n')
    write('fuzz_httpresp', 'chunked', b'\x02HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
          b'5;x=y\r\nhello\r\n0\r\nTrailer: 1\r\n\r\n')
    write('fuzz_httpresp', 'close', b'\x40HTTP/1.0 404 Not Found\r\nConnection: close\r\n\r\n{}')
    write('fuzz_httpresp', 'interim', b'\x00HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n')
    write('fuzz_httpresp', 'head', b'\xffHTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n')
    write('fuzz_httpresp', 'too_large', b'\x10HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\nx')

    # fuzz_pbwire: Frame bodies, clean and with a NUL in a string field, and
    # inputs for the unit tests' recursive schema (pbwire_test.proto: Node)
    action_reply = dept_action_reply()
    frames = {
        'hello': frame(1, hello()),
        'hello_nul_token': frame(1, hello(token='sec\0ret')),
        'intake': frame(4, intake(resolved=True)),
        'intake_nul_external_id': frame(4, intake(external_id='X\0y')),
        'intake_nul_content': frame(4, intake(content='visible\0HIDDEN')),
        'intake_twice': frame(4, field_bytes(1, 'X') + field_bytes(1, 'Y')) + frame(1, hello()),
        'dept_reply': frame(8, action_reply),
        'dept_reply_nul': frame(8, field_bytes(1, 'T-1') + field_bytes(4, field_bytes(1, 'a\0b'))),
        'dept_return': frame(8, field_bytes(1, 'T-1') + field_bytes(3, field_bytes(1, 'not ours'))),
        'dept_extend': frame(8, field_bytes(1, 'T-1') +
                             field_bytes(5, field_varint(1, 1795000000000) + field_bytes(2, 'parts'))),
        'dept_accept': frame(8, field_bytes(1, 'T-1') + field_bytes(2, b'')),
        'callback_result': frame(13, field_bytes(1, 'T-1') + field_varint(2, 3) +
                                 field_bytes(3, '无人接听')),
        'ack': frame(7, field_bytes(1, 'T-1') + field_varint(2, 7)),
        'unknown_fields': (frame(4, field_bytes(1, 'E-1') + field_varint(100, 2**64 - 1) +
                                 varint(101 << 3 | 1) + bytes(8) + field_bytes(102, b'a\0b') +
                                 varint(103 << 3 | 5) + bytes(4)) + field_varint(99, 1)),
        'wrong_wire_type': frame(4, field_varint(1, 5)),
        'long_tag': (bytes([0xa2, 0x80, 0x80, 0x80, 0x00, 0x87, 0x00, 0x8a, 0x00, 0x83, 0x00]) +
                     b'X\0y'),
    }
    for name, body in frames.items():
        write('fuzz_pbwire', name, body)
    deep = field_bytes(1, 'deep')
    for _ in range(33):
        deep = field_bytes(2, deep)
    write('fuzz_pbwire', 'node_deep', deep)
    node = (field_bytes(1, 'n') + field_bytes(3, 'a') + field_bytes(3, 'b\0') +
            field_bytes(4, b'\0\0') + field_bytes(5, varint(300) + varint(0)) +
            field_bytes(6, bytes(16)) + field_bytes(7, field_bytes(1, 'kid') + field_varint(10, 0)) +
            field_bytes(9, field_bytes(8, 'label')) + field_varint(14, 1) + field_bytes(16, b'\0\1'))
    write('fuzz_pbwire', 'node_everything', node)


if __name__ == '__main__':
    main()
