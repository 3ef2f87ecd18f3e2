export declare class Roomcast {}
