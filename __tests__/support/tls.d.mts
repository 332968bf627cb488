export declare const TLS_DIR: string
export declare function testCertificate(): { key: string; cert: string }
export declare function trustedBundle(): string
