export declare function localPipIndexEnv(): Record<string, string>
